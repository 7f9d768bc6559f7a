import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MASK, maskContactDetails } from '../../../domain/messaging/masking.js';

const M = MASK;

describe('maskContactDetails: a table', () => {
  const cases: Array<[string, string]> = [
    // Email addresses
    ['write to john.doe@example.com.', `write to ${M}.`],
    ['mail (anna+rooms@uni-bologna.it) please', `mail (${M}) please`],
    ['ANNA@EXAMPLE.ORG', M],
    ['a fullwidth one: john＠gmail．com', `a fullwidth one: ${M}`],
    ['doubled at: aaa@@bbb.com', `doubled at: ${M}`],
    ['unicode: jürgen@müller.de', `unicode: ${M}`],
    ['mailto:x@y.io', `mailto:${M}`],
    // Phone numbers
    ['call +33 6 12 34 56 78 now', `call ${M} now`],
    ['(020) 7946 0958', M],
    ['06.12.34.56.78', M],
    ['06-12-34-56-78', M],
    ['+1 (415) 555-2671', M],
    ['spelled 0 6 1 2 3 4 5 6 7 8 out', `spelled ${M} out`],
    ['zero-width 0\u200B6\u200B1\u200B2\u200B3\u200B4\u200B5\u200B6', `zero-width ${M}`],
    ['fullwidth ０６１２３４５６７８', `fullwidth ${M}`],
    ['arabic-indic ٠٦١٢٣٤٥٦٧٨', `arabic-indic ${M}`],
    ['+39 051 1234567, any time', `${M}, any time`],
    ['tel:+390511234567', `tel:${M}`],
    // Links
    ['see https://evil.example/x?y=1', `see ${M}`],
    ['see http://a.b/c and ftp://files.example.org', `see ${M} and ${M}`],
    ['www.foo.bar', M],
    ['go to example.com/path!', `go to ${M}!`],
    ['my site: my-flat.it.', `my site: ${M}.`],
    ['visit bit.ly/abc', `visit ${M}`],
    ['ip 192.168.0.1 here', `ip ${M} here`],
    ['"www.x.org",', `"${M}",`],
    ['with a port example.org:8080/x', `with a port ${M}`],
    // Text that stays text
    ['from 12.01.2026 - 15.01.2026', 'from 12.01.2026 - 15.01.2026'],
    ['check-in 2026-12-01, out 2026-12-03', 'check-in 2026-12-01, out 2026-12-03'],
    ['Mr.Smith said e.g. fine, i.e. ok', 'Mr.Smith said e.g. fine, i.e. ok'],
    ['price 4500 EUR, room 12, 3 nights', 'price 4500 EUR, room 12, 3 nights'],
    ['file.txt and notes.docx', 'file.txt and notes.docx'],
    ['No.12 at 10:30-12:00', 'No.12 at 10:30-12:00'],
    ['a@b', 'a@b'],
    ['@handle', '@handle'],
    ['', ''],
    ['Grüße aus Köln 🌧️ — bis bald!', 'Grüße aus Köln 🌧️ — bis bald!'],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => expect(maskContactDetails(text)).toBe(expected));
  }

  it('keeps line breaks and spacing around what it masks', () => {
    expect(maskContactDetails('Hi!\n\nMail: a.b@c.de\r\n\tPhone: 0612345678')).toBe(
      `Hi!\n\nMail: ${M}\r\n\tPhone: ${M}`,
    );
  });
});

const word = fc.string({
  unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzäößçñ'.split('')),
  minLength: 1,
  maxLength: 10,
});
const prose = fc.array(word, { maxLength: 8 }).map((words) => words.join(' '));
const separator = fc.constantFrom(' ', '.', '-', '', '\u00A0', '\u200B');
/** A phone number: 9 to 13 digits in groups with separators, maybe international. */
const phone = fc
  .tuple(fc.boolean(), fc.array(fc.tuple(fc.stringMatching(/^\d{1,4}$/), separator), { minLength: 3, maxLength: 6 }))
  .map(
    ([plus, groups]) =>
      (plus ? '+' : '') +
      groups
        .map(([digits, sep]) => digits + sep)
        .join('')
        .replace(/\D+$/, ''),
  )
  .filter((p) => p.replace(/\D/g, '').length >= 9);
const hostile = fc.string({
  unit: fc.oneof(
    fc.constantFrom('@', '.', ':', '/', '(', ')', '-', '+', ' ', '\u200B', '\u0301', '＠', '．', 'w', '0', '9', 'x'),
    fc.constantFrom('😀', '\uD800', '\uDFFF', '\u202E', '\n', '\t', '٣', '０'),
    fc.string({ maxLength: 1 }),
  ),
  maxLength: 300,
});

describe('maskContactDetails: properties', () => {
  it('hides every generated email address, whatever prose is around it', () => {
    fc.assert(
      fc.property(prose, fc.emailAddress(), prose, (before, email, after) => {
        const masked = maskContactDetails(`${before} ${email} ${after}`);
        expect(masked).not.toContain(email);
        expect(masked).toContain(M);
      }),
    );
  });

  it('leaves no run of 9 digits of a generated phone number', () => {
    fc.assert(
      fc.property(prose, phone, prose, (before, number, after) => {
        const masked = maskContactDetails(`${before} ${number} ${after}`);
        expect(masked.replace(/[^\d]/g, ' ')).not.toMatch(/\d{9}/);
        expect(masked).toContain(M);
      }),
    );
  });

  it('hides generated links with a scheme', () => {
    fc.assert(
      fc.property(prose, fc.webUrl({ withQueryParameters: true, withFragments: true }), prose, (before, url, after) => {
        expect(maskContactDetails(`${before} ${url} ${after}`)).not.toContain(url);
      }),
    );
  });

  it('hides bare domains under common and country top-level domains, with paths', () => {
    const bare = fc
      .tuple(
        fc.array(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 1, maxLength: 3 }),
        fc.stringMatching(/^[a-z]{2,12}$/),
        fc.constantFrom('com', 'org', 'net', 'io', 'it', 'de', 'fr', 'co', 'app', 'info'),
        fc.constantFrom('', '/', '/path', '/a/b?c=d', '?x=1', ':8080/x'),
      )
      .map(([subs, name, tld, rest]) => `${[...subs.slice(1), name].join('.')}.${tld}${rest}`);
    fc.assert(
      fc.property(prose, bare, (before, link) => {
        expect(maskContactDetails(`${before} ${link}`)).not.toContain(link);
      }),
    );
  });

  it('changes nothing in text without digits, @, dots or colons', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }).filter((s) => !/[\p{Nd}@＠.．。｡:]/u.test(s)),
        (text) => {
          expect(maskContactDetails(text)).toBe(text);
        },
      ),
    );
  });

  it('is total and idempotent on hostile input: never throws, masking twice is masking once', () => {
    fc.assert(
      fc.property(hostile, (text) => {
        const once = maskContactDetails(text);
        expect(typeof once).toBe('string');
        expect(maskContactDetails(once)).toBe(once);
      }),
      { numRuns: 500 },
    );
  });

  it('takes huge inputs built to make a backtracking matcher explode (200,000 characters each)', () => {
    const huge = [
      'a'.repeat(200_000),
      '@'.repeat(200_000),
      'a@'.repeat(100_000),
      `${'a.'.repeat(100_000)}@`,
      `${'1 '.repeat(100_000)}x`,
      `${'1-'.repeat(100_000)}`,
      `${'w.'.repeat(100_000)}`,
      `https://${'a'.repeat(200_000)}`,
      `${'x'.repeat(200_000)}@example.com`,
      '٣ '.repeat(100_000),
      '😀'.repeat(100_000),
    ];
    for (const text of huge) {
      const masked = maskContactDetails(text);
      expect(masked.length).toBeGreaterThan(0);
    }
  });
});
