/** What the registry's handlers need of the builder: an interface, so they can be tested with a stand-in. */

import type { ImageName } from '../../shared/reference.ts';
import type { ImageRecord } from '../cache/image-cache.ts';

/** The image a name and tag resolve to, and whether the tag pins an immutable revision. */
export interface ResolvedImage {
  record: ImageRecord;
  pinned: boolean;
}

/** Resolves an image name and tag to a published image, building it when needed. */
export interface ImageResolver {
  image(name: ImageName, tag: string): Promise<ResolvedImage>;
}
