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
/**
 * Between a phone number's digits: spaces, dots, dashes, slashes, parentheses, and what hides between them (format
 * characters such as zero-width spaces and soft hyphens, combining marks).
 */
const PHONE_SEPARATOR = /^[\s\p{Cf}\p{M}.\-/()\p{Pd}\u00B7\u2022\u2024\u2027\uFF0E\u3002\uFF61]$/u;
const LOCAL_PART = /^[\p{L}\p{N}\p{M}\p{Cf}._%+\-'!#$&*=^`{|}~/?]$/u;
const DOMAIN_CHAR = /^[\p{L}\p{N}\p{M}\p{Cf}\-.\uFF0E\u3002\uFF61]$/u;
const DOT = /^[.\uFF0E\u3002\uFF61]$/u;
const AT = /^[@\uFF20\uFE6B]$/u;
const LABEL = /^[\p{L}\p{N}\p{M}\p{Cf}](?:[\p{L}\p{N}\p{M}\p{Cf}-]{0,62})$/u;
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

/** Masks email addresses, phone numbers and links in `text` (see the module's note). */
export function maskContactDetails(text: string): string {
  if (text.length === 0) return text;
  return maskPhoneNumbers(maskWords(text));
}

/** Characters without which a word holds no email address or link: most words are passed over on this test. */
const WORD_HINT = /[@\uFF20\uFE6B.\uFF0E\u3002\uFF61:]/u;

/** Emails and links: within each run of non-space characters. */
function maskWords(text: string): string {
  if (!WORD_HINT.test(text)) return text;
  // Odd indices hold the whitespace between words.
  const parts = text.split(/(\s+)/u);
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i]!;
    if (word !== '' && WORD_HINT.test(word)) parts[i] = maskWord(Array.from(word));
  }
  return parts.join('');
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

/** Where a phone number may begin: a digit, or `+` or `(` right before one. */
const PHONE_START = /[+(]?\p{Nd}/gu;
const ANY_DIGIT = /\p{Nd}/u;

/** A decimal digit of any script (ASCII first: the common case costs no regular expression). */
function isDigitAt(cp: number, ch: string): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return DIGIT.test(ch);
}

function isSeparatorAt(cp: number, ch: string): boolean {
  if (cp < 0x80)
    return (
      cp === 0x20 ||
      cp === 0x2e ||
      cp === 0x2d ||
      cp === 0x2f ||
      cp === 0x28 ||
      cp === 0x29 ||
      (cp >= 0x09 && cp <= 0x0d)
    );
  return PHONE_SEPARATOR.test(ch);
}

/**
 * Runs of digits with at most MAX_SEPARATORS separators between groups, counted over the whole run: international
 * (+33 6 12 34 56 78), local ((020) 7946 0958, 06.12.34.56.78) and digits spelled apart (0 6 1 2 3 4 5 6 7 8).
 * The search jumps from one possible start to the next; each run is walked once and the next search starts after it.
 */
function maskPhoneNumbers(text: string): string {
  if (!ANY_DIGIT.test(text)) return text;
  let out = '';
  let copied = 0;
  PHONE_START.lastIndex = 0;
  for (let match = PHONE_START.exec(text); match; match = PHONE_START.exec(text)) {
    const start = match.index;
    const opener = text[start] === '+' || text[start] === '(';
    let marked = opener;
    let j = opener ? start + 1 : start;
    let digits = 0;
    let separators = 0;
    let end = j;
    while (j < text.length) {
      const cp = text.codePointAt(j)!;
      const width = cp > 0xffff ? 2 : 1;
      const ch = width === 1 ? text[j]! : text.slice(j, j + 2);
      if (isDigitAt(cp, ch)) {
        digits++;
        separators = 0;
        end = j + width;
      } else if (separators < MAX_SEPARATORS && isSeparatorAt(cp, ch)) {
        separators++;
        if (cp === 0x28 || cp === 0x29) marked = true;
      } else break;
      j += width;
    }
    const enough = digits >= PHONE_DIGITS || (marked && digits >= PHONE_DIGITS_MARKED);
    if (enough && !isDate(text.slice(start, end))) {
      out += text.slice(copied, start) + MASK;
      copied = end;
    }
    PHONE_START.lastIndex = end;
  }
  return out + text.slice(copied);
}

function isDate(run: string): boolean {
  // Only the shape matters: every digit, of whatever script, as 0.
  const shape = run.replace(/\p{Nd}/gu, '0');
  return DATE_SHAPES.some((date) => date.test(shape));
}
