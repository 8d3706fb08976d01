import { describe, expect, it } from "vitest";
import { skipSpaceAndComments, statementStarts } from "../src/drivers/statement-starts.js";
import { transactionControlRefusal } from "../src/drivers/transaction-control.js";

// The statements of a text as Postgres (and psql) split them: the refusal of transaction control
// on a tx handle looks at each one.
describe("statementStarts", () => {
  it.each([
    ["select 1", [0]],
    ["select 1; commit", [0, 9]],
    ["insert into t values (';'); commit", [0, 27]],
    ["select 'it''s; fine'; select 2", [0, 21]],
    ["select E'\\'; still text' as x; select 2", [0, 30]],
    ['select "a;b" from t; select 2', [0, 20]],
    ["select $$;$$; select 2", [0, 13]],
    ["select $body$ ; $other$ ; $body$; select 2", [0, 33]],
    ["select $1; select 2", [0, 10]],
    ["select a$b; select 2", [0, 11]],
    ["-- a; comment\nselect 1; select 2", [0, 23]],
    ["/* a /* nested; */ still; */ select 1", [0]],
    ["create function f() returns int language sql begin atomic select 1; select case when true then 1 end; end; select 2", [0, 106]],
    ["select 'unterminated; select 2", [0]],
  ])("%j starts statements at %j", (text, starts) => {
    expect(statementStarts(text)).toEqual(starts);
  });

  it("skips white space and comments to a statement's first word", () => {
    expect(skipSpaceAndComments("  -- a\n /* b /* c */ d */\tcommit", 0)).toBe(26);
    expect(skipSpaceAndComments("   ", 0)).toBe(3);
  });

  it("reads long texts of many statements, or of unterminated quotes and comments, in one pass", () => {
    expect(transactionControlRefusal(["select 1" + "; ".repeat(100_000) + "commit"])?.message).toMatch(/^COMMIT is refused/);
    expect(statementStarts("select 1" + ";".repeat(100_000))).toHaveLength(100_001);
    for (const text of ["/*".repeat(50_000) + "; commit", "select $body$" + "$".repeat(100_000) + "; commit", "'".repeat(100_001) + "; commit"]) {
      expect(transactionControlRefusal([text])).toBeNull();
    }
  });
});

describe("transactionControlRefusal", () => {
  it("looks at every statement of a text sent without parameters, and at the only one of a text with them", () => {
    expect(transactionControlRefusal(["select 1; commit"])?.message).toMatch(/^COMMIT is refused/);
    expect(transactionControlRefusal([{ text: "select 1; rollback" }])?.message).toMatch(/^ROLLBACK is refused/);
    expect(transactionControlRefusal(["select $1::int; commit", [1]])).toBeNull();
    expect(transactionControlRefusal([{ text: "select $1::int; commit", values: [1] }])).toBeNull();
    expect(transactionControlRefusal(["create function f() returns int language sql begin atomic select 1; end"])).toBeNull();
  });
});
