import { ScheduleParseError } from "./schedule-parse-error.js";

/** One field of a six-field cron expression, in order. */
interface CronFieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Lower-case three-letter names and the number each stands for. */
  readonly names?: Readonly<Record<string, number>>;
  /** `?` is only meaningful where "no specific value" makes sense: the two day fields. */
  readonly allowsQuestionMark: boolean;
}

const MONTH_NAMES = { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };
const WEEKDAY_NAMES = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

const FIELDS: ReadonlyArray<CronFieldSpec> = [
  { name: "second", min: 0, max: 59, allowsQuestionMark: false },
  { name: "minute", min: 0, max: 59, allowsQuestionMark: false },
  { name: "hour", min: 0, max: 23, allowsQuestionMark: false },
  { name: "day-of-month", min: 1, max: 31, allowsQuestionMark: true },
  { name: "month", min: 1, max: 12, names: MONTH_NAMES, allowsQuestionMark: false },
  { name: "day-of-week", min: 0, max: 7, names: WEEKDAY_NAMES, allowsQuestionMark: true },
];

/**
 * The macros we accept and the six-field expression each stands for. cron-parser knows a few more
 * (`@minutely`, `@weekdays`, ...); they are refused so that a stored schedule means the same thing
 * to every reader of the docs.
 */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

/**
 * Checks a cron expression strictly and rewrites it as six numeric fields (seconds first) for
 * cron-parser, which on its own accepts an empty string, silently fills missing fields and knows
 * extensions (`H`, `L`, `#`) whose meaning we do not promise.
 *
 * Accepted: a macro from {@link CRON_MACROS}; five fields (minute first, seconds = 0); six fields
 * (seconds first). Each field is a comma-separated list of `*`, a value, a range `a-b`, each
 * optionally followed by a step `/n`; `?` means `*` in the two day fields; months and weekdays may
 * be written as three-letter English names.
 *
 * @throws ScheduleParseError naming the field and the value that is wrong.
 */
export function normalizeCron(cron: string): string {
  const trimmed = cron.trim();
  if (trimmed === "") throw new ScheduleParseError(cron, "The cron expression is empty; expected 5 or 6 fields or a macro such as @daily");
  if (trimmed.startsWith("@")) {
    const expansion = CRON_MACROS[trimmed.toLowerCase()];
    if (expansion === undefined) {
      throw new ScheduleParseError(
        cron,
        `Unknown cron macro "${trimmed}"; supported macros are ${Object.keys(CRON_MACROS).join(", ")}`,
      );
    }
    return expansion;
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    throw new ScheduleParseError(
      cron,
      `The cron expression "${trimmed}" has ${parts.length} field${parts.length === 1 ? "" : "s"}; expected 5 (minute hour day-of-month month day-of-week) or 6 (second first)`,
    );
  }
  const sixFields = parts.length === 5 ? ["0", ...parts] : parts;
  return sixFields.map((text, index) => normalizeField(cron, text, FIELDS[index]!)).join(" ");
}

function normalizeField(cron: string, text: string, field: CronFieldSpec): string {
  const items = text.split(",");
  return items.map((item) => normalizeItem(cron, text, item, field)).join(",");
}

function normalizeItem(cron: string, fieldText: string, item: string, field: CronFieldSpec): string {
  const fail = (why: string): never => {
    throw new ScheduleParseError(cron, `Invalid ${field.name} field "${fieldText}" in cron "${cron.trim()}": ${why}`);
  };
  if (item === "") fail("a list has an empty entry");
  if (item.includes("#") || /^H(\(|\/|$)/i.test(item) || /^(\d*L|LW|\d+W)(\/|$)/i.test(item)) {
    fail(`"${item}" uses an extension (L, W, # or H) that is not supported`);
  }

  const slashParts = item.split("/");
  if (slashParts.length > 2) fail(`"${item}" has more than one "/"`);
  const [base, stepText] = slashParts as [string, string | undefined];

  let step: number | undefined;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText)) fail(`the step "${stepText}" in "${item}" is not a whole number`);
    step = Number(stepText);
    const span = field.max - field.min + 1;
    if (step < 1 || step > span) fail(`the step ${stepText} in "${item}" must be between 1 and ${span}`);
  }

  let normalizedBase: string;
  if (base === "*" || base === "?") {
    if (base === "?" && !field.allowsQuestionMark) fail(`"?" is only allowed in the day-of-month and day-of-week fields`);
    normalizedBase = "*";
  } else {
    const bounds = base.split("-");
    if (bounds.length > 2) fail(`"${base}" is not a value or a range a-b`);
    const numbers = bounds.map((bound) => parseValue(bound, field, fail));
    if (numbers.length === 2 && numbers[0]! > numbers[1]!) {
      fail(`the range "${base}" runs backwards (${numbers[0]} > ${numbers[1]}); write the smaller value first`);
    }
    // cron-parser reads "a/n" as "a, a+n, ... up to the field's maximum", the common cron meaning.
    normalizedBase = numbers.join("-");
  }
  return step === undefined ? normalizedBase : `${normalizedBase}/${step}`;
}

function parseValue(text: string, field: CronFieldSpec, fail: (why: string) => never): number {
  if (text === "") return fail(`a value is missing`);
  if (/^\d+$/.test(text)) {
    const value = Number(text);
    if (value < field.min || value > field.max) fail(`${value} is out of range; the ${field.name} must be between ${field.min} and ${field.max}`);
    return value;
  }
  const named = field.names?.[text.toLowerCase()];
  if (named !== undefined) return named;
  if (field.names) {
    return fail(`"${text}" is neither a number between ${field.min} and ${field.max} nor a name (${Object.keys(field.names).join(", ")})`);
  }
  return fail(`"${text}" is not a number between ${field.min} and ${field.max}`);
}
