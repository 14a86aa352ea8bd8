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
  /**
   * The words and phrases that drove the decision, for alert reasons. Quoted as written in the
   * post; when sarcasm decided, the first negative entry is the ironic praise marked
   * "(sarcasm)" (`'Oh great (sarcasm)', 'lost my', '🙄'`), and a review's low rating is "rating 1/5".
   */
  evidence: {
    negative: string[];
    positive: string[];
    complaint: string[];
  };
  /**
   * Set when a situation decided beyond the words' own polarity: sarcasm (praise around a bad
   * situation: negative, a complaint when aimed at someone), recovery (a problem reported with
   * its fix and praise: positive, no complaint), litotes ("not bad", "geen klagen": not
   * negative), or a review's rating. `evidence` quotes the words that show it.
   */
  situation?: { kind: 'sarcasm' | 'recovery' | 'litotes' | 'rating'; evidence: string[] };
}

/** A review's stars (Trustpilot, Google, app stores): 1 of 5 is `{ stars: 1, outOf: 5 }`. */
export interface Rating {
  stars: number;
  outOf: number;
}

/** The input analysis needs: text and, when the platform gave one, its language tag. */
export interface AnalysisInput {
  text: string;
  langHint?: string;
  /**
   * The languages the brand is configured for (brands.yaml `languages`, e.g. ['nl', 'en']): a
   * prior for posts without a usable language tag. Short posts are decided between these
   * languages; a post whose words clearly belong to another language is still recognised.
   */
  languages?: readonly string[];
  /** A review's rating, when the post is a review: a one-star review is negative even in mild words. */
  rating?: Rating;
}
