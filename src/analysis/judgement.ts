/** What repwatch concludes about one post's text. Pure data: stored with the mention. */
export type SentimentLabel = 'negative' | 'neutral' | 'positive';

export interface Judgement {
  /** ISO 639-1 code of a supported language ('nl', 'en'), a recognised one ('fr', 'de'), or 'und'. */
  lang: string;
  /** 0..1: how sure the language decision is. */
  langConfidence: number;
  sentiment: {
    label: SentimentLabel;
    /** -1 (very negative) .. 1 (very positive). */
    score: number;
    /** 0..1 */
    confidence: number;
  };
  complaint: {
    label: boolean;
    /** 0..1 */
    score: number;
  };
  /** The words and phrases that drove the decision, for alert reasons. */
  evidence: {
    negative: string[];
    positive: string[];
    complaint: string[];
  };
}

/** The input analysis needs: text and, when the platform gave one, its language tag. */
export interface AnalysisInput {
  text: string;
  langHint?: string;
}
