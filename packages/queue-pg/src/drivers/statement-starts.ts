/**
 * Where each statement of a SQL text starts: offset 0, and just past every `;` that is outside
 * string literals (`'…'`, `E'…'` with backslash escapes), quoted identifiers (`"…"`),
 * dollar-quoted strings (`$tag$…$tag$`), comments (`-- …`, nested `/* … *\/`) and the body of
 * a SQL-standard function (`BEGIN ATOMIC … END`, which holds `;`s; as psql does, a `BEGIN` or
 * `CASE` that is not a statement's first word opens a block that `END` closes). One pass over the
 * text. An unterminated literal or comment runs to the end of the text, as in Postgres.
 *
 * @example
 * ```ts
 * statementStarts("insert into t values (';'); commit"); // [0, 27]
 * ```
 */
export function statementStarts(text: string): number[] {
  const starts = [0];
  const length = text.length;
  let index = 0;
  let wordsInStatement = 0;
  let blockDepth = 0;
  while (index < length) {
    const char = text[index]!;
    if (char === ";") {
      if (blockDepth === 0) {
        starts.push(index + 1);
        wordsInStatement = 0;
      }
      index += 1;
    } else if (WORD_START.test(char) && !isIdentifierChar(text[index - 1])) {
      WORD.lastIndex = index;
      const word = WORD.exec(text)![0].toLowerCase();
      wordsInStatement += 1;
      if ((word === "begin" || word === "case") && wordsInStatement > 1) blockDepth += 1;
      else if (word === "end" && blockDepth > 0) blockDepth -= 1;
      index += word.length;
    } else if (char === "'") {
      index = endOfQuoted(text, index + 1, "'", isEscapeStringStart(text, index));
    } else if (char === '"') {
      index = endOfQuoted(text, index + 1, '"', false);
    } else if (char === "-" && text[index + 1] === "-") {
      index = endOfLineComment(text, index + 2);
    } else if (char === "/" && text[index + 1] === "*") {
      index = endOfBlockComment(text, index + 2);
    } else if (char === "$" && !isIdentifierChar(text[index - 1])) {
      const tag = DOLLAR_QUOTE_TAG.exec(text.slice(index, index + 64));
      if (tag === null) {
        index += 1;
      } else {
        const close = text.indexOf(tag[0], index + tag[0].length);
        index = close === -1 ? length : close + tag[0].length;
      }
    } else {
      index += 1;
    }
  }
  return starts;
}

/**
 * The index of the first character at or after `from` that is neither white space nor part of a
 * comment (`-- …` to the end of the line, nested `/* … *\/`).
 */
export function skipSpaceAndComments(text: string, from: number): number {
  let index = from;
  while (index < text.length) {
    const char = text[index]!;
    if (char === "-" && text[index + 1] === "-") {
      index = endOfLineComment(text, index + 2);
    } else if (char === "/" && text[index + 1] === "*") {
      index = endOfBlockComment(text, index + 2);
    } else if (/\s/.test(char)) {
      index += 1;
    } else {
      return index;
    }
  }
  return index;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;

/** `$$` or `$tag$`, a tag being an identifier that does not start with a digit (so `$1` is not one). */
const DOLLAR_QUOTE_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(char);
}

/** Whether the quote at `quoteIndex` opens an escape string: `E'…'` (the E not ending a longer word). */
function isEscapeStringStart(text: string, quoteIndex: number): boolean {
  const prefix = text[quoteIndex - 1];
  return (prefix === "E" || prefix === "e") && !isIdentifierChar(text[quoteIndex - 2]);
}

/** The index just past the closing `quote` (a doubled quote is part of the text). */
function endOfQuoted(text: string, from: number, quote: string, backslashEscapes: boolean): number {
  let index = from;
  while (index < text.length) {
    const char = text[index]!;
    if (backslashEscapes && char === "\\") {
      index += 2;
    } else if (char === quote) {
      if (text[index + 1] !== quote) return index + 1;
      index += 2;
    } else {
      index += 1;
    }
  }
  return text.length;
}

/** The index just past the end of the line a `--` comment is on (the text's end when none). */
function endOfLineComment(text: string, from: number): number {
  const newline = text.indexOf("\n", from);
  return newline === -1 ? text.length : newline + 1;
}

/** The index just past the `*\/` that closes a block comment opened before `from`; they nest. */
function endOfBlockComment(text: string, from: number): number {
  let depth = 1;
  let index = from;
  while (index < text.length) {
    if (text[index] === "/" && text[index + 1] === "*") {
      depth += 1;
      index += 2;
    } else if (text[index] === "*" && text[index + 1] === "/") {
      depth -= 1;
      index += 2;
      if (depth === 0) return index;
    } else {
      index += 1;
    }
  }
  return text.length;
}
