export type * from "./records.js";
export type * from "./storage-adapter.js";
