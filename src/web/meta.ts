// site.json of a demo site: what the page needs besides the model and codes files (written by web/site.ts).
import type { Normalisation } from '../ops/augment.js';

/** The demo site's description, read by the page. */
export interface DemoMeta {
  /** The run's protocol tag (data set, bits, loss, seed). */
  tag: string;
  side: number;
  norm: Normalisation;
  /** What buildModel needs to make the run's network. */
  model: { model: string; bits: number; bn: boolean; seed: number };
  classes: string[];
  /** Hits shown per query. */
  k: number;
  /** The grid's query images (queries.rgb, CHW bytes, in query.codes order): image ids and labels. */
  queries: { count: number; ids: number[]; labels: number[] };
  /** The database images (database.rgb, CHW bytes, in db.codes order): image ids and labels. */
  database: { count: number; ids: number[]; labels: number[] };
}
