/**
 * Contact details in a message, masked for its recipient until the pair has a confirmed booking (so that payments
 * stay on the platform): email addresses, phone numbers and links. The original stays stored; only what is shown
 * changes.
 *
 * It runs in linear time whatever the input: no regular expression here has a nested or overlapping quantifier on
 * unbounded input, each is either anchored to one short token or tests one character, and every scan moves
 * forward (an `@` looks left and right only as far as the next character that cannot be part of an address).
 */
export const MASK = '[hidden until booking is confirmed]';

/** Digits in a run that make it a phone number (8: most local numbers; 7 with a `+` or parentheses). */
const PHONE_DIGITS = 8;
const PHONE_DIGITS_MARKED = 7;
/** Separator characters allowed in a row between the digit groups of a phone number. */
const MAX_SEPARATORS = 2;

const DIGIT = /^\p{Nd}$/u;
const WHITESPACE = /^[\s\u200B-\u200D\u2060\uFEFF]$/u;
/**
 * Between a phone number's digits: spaces, dots, dashes, slashes, parentheses, and what hides between them (format
 * characters such as zero-width spaces and soft hyphens, combining marks).
 */
const PHONE_SEPARATOR = /^[\s\p{Cf}\p{M}.\-/()\p{Pd}\u00B7\u2022\u2024\u2027\uFF0E\u3002\uFF61]$/u;
const LOCAL_PART = /^[\p{L}\p{N}\p{M}._%+\-'!#$&*=^`{|}~]$/u;
const DOMAIN_CHAR = /^[\p{L}\p{N}\p{M}\-.\uFF0E\u3002\uFF61]$/u;
const DOT = /^[.\uFF0E\u3002\uFF61]$/u;
const AT = /^[@\uFF20\uFE6B]$/u;
const LABEL = /^[\p{L}\p{N}\p{M}](?:[\p{L}\p{N}\p{M}-]{0,62})$/u;
const ALPHA_TLD = /^\p{L}{2,24}$/u;
const NUMERIC = /^\d{1,3}$/;
/** Dates are not phone numbers: 01.12.2026, 1/12/26, 2026-12-01. */
const DATE_SHAPES = [/^\d{1,2}([./-])\d{1,2}\1\d{2,4}$/, /^\d{4}([./-])\d{1,2}\1\d{1,2}$/];
/** Characters that may wrap or follow a link in prose: `(example.com)`, `"www.x.org",`. */
const PIECE_BREAK = /[,;()<>"'«»“”‘’[\]{}|]/u;

/**
 * Generic top-level domains common enough to be meant (two-letter country domains count too): anything else after a
 * dot ("Mr.Smith", "file.txt") stays text.
 */
const TLDS = new Set(
  (
    'com net org info biz io co app dev me ly tv xyz online site shop store tech club link page top live blog email ' +
    'cloud pro name mobi asia travel jobs museum aero coop int edu gov mil arpa eu onion web ai one ooo icu vip ' +
    'work world today life news space website fun wiki tel cat lat rent rentals house apartments property estate ' +
    'immo homes realty booking hotel hotels studio chat social zone'
  ).split(' '),
);

const isDigit = (c: string) => DIGIT.test(c);
const isWhitespace = (c: string) => WHITESPACE.test(c);

/** Masks email addresses, phone numbers and links in `text` (see the module's note). */
export function maskContactDetails(text: string): string {
  if (text.length === 0) return text;
  return maskPhoneNumbers(maskWords(text));
}

/** Emails and links: within each run of non-space characters. */
function maskWords(text: string): string {
  const chars = Array.from(text);
  let out = '';
  let word: string[] = [];
  const flush = () => {
    if (word.length > 0) out += maskWord(word);
    word = [];
  };
  for (const c of chars) {
    if (isWhitespace(c)) {
      flush();
      out += c;
    } else word.push(c);
  }
  flush();
  return out;
}

function maskWord(chars: string[]): string {
  const emailMasked = chars.some((c) => AT.test(c)) ? maskEmails(chars) : chars;
  // Links: each piece between the punctuation prose puts around them.
  let out = '';
  let piece = '';
  for (const c of emailMasked) {
    if (c.length <= 2 && PIECE_BREAK.test(c)) {
      out += maskPiece(piece) + c;
      piece = '';
    } else piece += c;
  }
  return out + maskPiece(piece);
}

/** Every `local@domain.tld` in the word replaced by MASK (the rest kept, characters as elements). */
function maskEmails(chars: string[]): string[] {
  const out: string[] = [];
  let copied = 0;
  for (let at = 0; at < chars.length; at++) {
    if (!AT.test(chars[at]!)) continue;
    let start = at;
    while (start > copied && LOCAL_PART.test(chars[start - 1]!)) start--;
    // "a@@b.com" is read as an address all the same.
    const first = at;
    while (at + 1 < chars.length && AT.test(chars[at + 1]!)) at++;
    let end = at + 1;
    while (end < chars.length && DOMAIN_CHAR.test(chars[end]!)) end++;
    // The domain may end in a dot of the sentence: "write to a@b.com."
    let domainEnd = end;
    while (domainEnd > at + 1 && DOT.test(chars[domainEnd - 1]!)) domainEnd--;
    if (start === first || !isHost(chars.slice(at + 1, domainEnd).join(''), true)) continue;
    for (let i = copied; i < start; i++) out.push(chars[i]!);
    out.push(MASK);
    copied = domainEnd;
    at = domainEnd - 1;
  }
  for (let i = copied; i < chars.length; i++) out.push(chars[i]!);
  return out;
}

/** A piece of a word that is a link is replaced, keeping the sentence's punctuation after it. */
function maskPiece(piece: string): string {
  if (piece === '' || piece === MASK) return piece;
  let end = piece.length;
  while (end > 0 && '.:!?'.includes(piece[end - 1]!)) end--;
  const core = piece.slice(0, end);
  return isLink(core) ? MASK + piece.slice(end) : piece;
}

function isLink(core: string): boolean {
  const lower = core.toLowerCase();
  const scheme = lower.indexOf('://');
  if (scheme > 0 && /^[a-z][a-z0-9+.-]*$/.test(lower.slice(0, scheme))) return true;
  if (/^www[.\uFF0E\u3002\uFF61]./u.test(lower)) return true;
  // A bare domain, with a path, query or port: example.com/path, example.co.uk?x, example.org:8080.
  let host = lower;
  const cut = host.search(/[/?#\\]/);
  if (cut >= 0) host = host.slice(0, cut);
  const colon = host.lastIndexOf(':');
  if (colon >= 0) {
    const after = host.slice(colon + 1);
    host = /^\d{1,5}$/.test(after) ? host.slice(0, colon) : after;
  }
  return isHost(host, false);
}

/** Dot-separated labels ending in a known or two-letter top-level domain, or an IPv4 address. */
function isHost(host: string, email: boolean): boolean {
  if (host.length < 4 || host.length > 253) return false;
  const labels = host.split(/[.\uFF0E\u3002\uFF61]/u);
  if (labels.length < 2 || labels.some((label) => !LABEL.test(label))) return false;
  if (labels.length === 4 && labels.every((label) => NUMERIC.test(label))) return true;
  const tld = labels[labels.length - 1]!.toLowerCase();
  if (tld.startsWith('xn--')) return true;
  if (!ALPHA_TLD.test(tld)) return false;
  // After an @ any alphabetic domain is meant as one; in prose only known or country domains are.
  return email || TLDS.has(tld) || (tld.length === 2 && labels[labels.length - 2]!.length >= 2);
}

/**
 * Runs of digits with at most MAX_SEPARATORS separators between groups, counted over the whole run: international
 * (+33 6 12 34 56 78), local ((020) 7946 0958, 06.12.34.56.78) and digits spelled apart (0 6 1 2 3 4 5 6 7 8).
 */
function maskPhoneNumbers(text: string): string {
  const chars = Array.from(text);
  let out = '';
  let i = 0;
  while (i < chars.length) {
    const c = chars[i]!;
    const opensRun = isDigit(c) || ((c === '+' || c === '(') && i + 1 < chars.length && isDigit(chars[i + 1]!));
    if (!opensRun) {
      out += c;
      i++;
      continue;
    }
    const start = i;
    let lastDigit = -1;
    let digits = 0;
    let separators = 0;
    let marked = c === '+' || c === '(';
    let j = c === '+' || c === '(' ? i + 1 : i;
    while (j < chars.length) {
      const d = chars[j]!;
      if (isDigit(d)) {
        digits++;
        lastDigit = j;
        separators = 0;
      } else if (PHONE_SEPARATOR.test(d) && separators < MAX_SEPARATORS) {
        separators++;
        if (d === '(' || d === ')') marked = true;
      } else break;
      j++;
    }
    const end = lastDigit + 1;
    const run = chars.slice(start, end).join('');
    const enough = digits >= PHONE_DIGITS || (marked && digits >= PHONE_DIGITS_MARKED);
    out += enough && !isDate(run) ? MASK : run;
    i = end;
  }
  return out;
}

function isDate(run: string): boolean {
  // Only the shape matters: every digit, of whatever script, as 0.
  const shape = run.replace(/\p{Nd}/gu, '0');
  return DATE_SHAPES.some((date) => date.test(shape));
}
