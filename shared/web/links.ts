/** Where the front page points people: nixedge's predecessor, and where to find package names. */

/** Nixery, whose names and configuration nixedge keeps. */
export const NIXERY_URL = 'https://nixery.dev';
/** Where nixpkgs' attribute names can be looked up. */
export const PACKAGE_SEARCH_URL = 'https://search.nixos.org/packages';
