/**
 * The smallest Worker holding an R2 binding: wrangler dev needs a Worker to serve the binding's
 * local S3 endpoint and public URLs (see ./wrangler.toml). It answers every request with a short
 * text, which also tells the test harness that the server is up.
 */

export default {
  fetch(): Response {
    return new Response('nixedge r2-only test worker\n', { headers: { 'content-type': 'text/plain' } });
  },
};
