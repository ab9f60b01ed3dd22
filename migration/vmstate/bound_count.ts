/**
 * The one check every count read from a stream passes before anything is allocated for it.
 *
 * A count on the wire is a claim, not a fact: a 57-byte stream can announce 2^31 elements. So an
 * allocation is made only when the count is within what the description allows (a device's own
 * maximum) and the bytes its elements take have actually arrived: on a stream of known length
 * the bytes left are checked first, and on a stream of unknown length (a socket, a pipe) the
 * reader is asked to have them buffered, which makes the loader wait for them (under its idle
 * timeout) instead of allocating for them. Memory then grows with the bytes received, never
 * with a claimed count, and no synchronous loop walks elements that have not arrived.
 * @module
 */
import { StateValidationError, StreamFormatError } from "../errors.ts";
import { MAX_ITEM_BYTES, type StreamReader } from "../stream/reader.ts";

/**
 * Check `count` elements of at least `bytesEach` wire bytes (taken as at least 1) against `max`
 * and against the stream, then require their bytes to be buffered. Throws a typed error (or the
 * reader's NeedMoreInput, so `retrying` fetches the bytes and runs the item again).
 * @param what names the field in messages, e.g. `allocation for "input_time"`
 * @param max the description's own maximum element count, when it has one
 */
export function boundCount(
  r: StreamReader,
  count: number,
  bytesEach: number,
  what: string,
  max?: number,
): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new StreamFormatError(`${what}: invalid count ${count}`, { offset: r.offset });
  }
  if (max !== undefined && count > max) {
    throw new StateValidationError(`${what}: count ${count} exceeds the maximum of ${max}`, {
      offset: r.offset,
    });
  }
  const bytes = count * Math.max(1, bytesEach);
  r.checkAvailable(bytes, what);
  if (bytes > MAX_ITEM_BYTES) {
    throw new StreamFormatError(
      `${what}: ${count} elements need ${bytes} bytes, more than one item may hold (${MAX_ITEM_BYTES})`,
      { offset: r.offset },
    );
  }
  r.need(bytes);
}
