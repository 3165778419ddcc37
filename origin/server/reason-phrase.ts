/**
 * The HTTP reason phrase of registry errors at the origin: Node's adapter for Hono writes only
 * the status code, so an error's reason travels in a header (shared/error-response.ts
 * REASON_HEADER) and this ServerResponse writes it as the status line and drops the header.
 * containerd resolves tags with HEAD only and prints nothing of an error but its status line.
 */

import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { REASON_HEADER } from '../../shared/error-response.ts';

/** A ServerResponse that turns the reason header into the status line's reason phrase. */
export class ReasonPhraseResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  override writeHead(statusCode: number, ...rest: unknown[]): this {
    const [first, second] = rest;
    const headers = (typeof first === 'string' ? second : first) as OutgoingHttpHeaders | undefined;
    if (headers && !Array.isArray(headers) && typeof headers[REASON_HEADER] === 'string') {
      const { [REASON_HEADER]: reason, ...others } = headers;
      return super.writeHead(statusCode, String(reason), others);
    }
    return super.writeHead(statusCode, ...(rest as [OutgoingHttpHeaders]));
  }
}
