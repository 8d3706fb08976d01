export type * from "./records.js";
export type * from "./storage-adapter.js";
export { isClaimedOnWrite } from "./follow-up-claim.js";
export { TASK_LIST_DEFAULT_LIMIT } from "./storage-adapter.js";
