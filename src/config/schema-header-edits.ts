/**
 * Config schema of header edits (`{"remove": [...], "set": {...}, "add": {...}}`), shared by
 * reverse routes and url rules, and its conversion to the domain form.
 * @module
 */
import * as v from "valibot";
import { editableHeaderError, type HeaderEditsConfig, headerValueError } from "../protocol/header-edits.ts";
import { checkedString, expected, object, record } from "./schema-kit.ts";

const headerMap = record(checkedString("a header name", editableHeaderError), checkedString("a header value", headerValueError), 'an object like {"X-Name": "value"}');

/** `remove` (names), then `set` (replace), then `add` (append); framing, connection and Host fields refused. */
export const headerEditsSchema = object({
  remove: v.optional(v.array(checkedString("a header name", editableHeaderError), expected("an array of header names")), []),
  set: v.optional(headerMap, {}),
  add: v.optional(headerMap, {}),
});

/** The domain form of header edits. */
export function toEdits(e: v.InferOutput<typeof headerEditsSchema>): HeaderEditsConfig {
  return { remove: [...e.remove], set: Object.entries(e.set), add: Object.entries(e.add) };
}
