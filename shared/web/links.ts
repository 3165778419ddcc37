/** Where the front page points people: the project's source, its predecessor, and where to find package names. */

/** nixedge's source repository. */
export const SOURCE_URL = 'https://github.com/nixedge/nixedge';
/** Nixery, whose names and configuration nixedge keeps. */
export const NIXERY_URL = 'https://nixery.dev';
/** Where nixpkgs' attribute names can be looked up. */
export const PACKAGE_SEARCH_URL = 'https://search.nixos.org/packages';
