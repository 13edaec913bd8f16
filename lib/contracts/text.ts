/**
 * Strings that reach CBR (JSON bodies) or DynamoDB must be valid Unicode: a lone UTF-16 surrogate
 * (half of a pair, e.g. "\uD800" from a truncated emoji or a hostile client) cannot be encoded as UTF-8,
 * so the JSON encoder would write U+FFFD or an escape CBR/DynamoDB refuse or store mangled. Refused at
 * the contract instead, naming the field. A well-formed pair (an emoji) is one code point, not `Cs`.
 */
import * as z from 'zod';

const WELL_FORMED = /^\P{Cs}*$/u;
export const LONE_SURROGATE_ERROR = 'contains a lone UTF-16 surrogate (not valid Unicode, cannot be encoded as UTF-8)';

/** A string that is well-formed UTF-16 (no lone surrogates); chain min/max/regex as usual. */
export function text() {
  return z.string().regex(WELL_FORMED, { error: LONE_SURROGATE_ERROR });
}

/** C0 controls and DEL: CR/LF/tab in a URL are silently removed by the WHATWG URL parser, so refuse them first. */
export const NO_CONTROL_CHARS = /^[^\u0000-\u001F\u007F]*$/;
