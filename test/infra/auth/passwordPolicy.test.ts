import { describe, expect, it } from 'vitest';
import { isCommonPassword } from '../../../infra/auth/commonPasswords.js';
import { checkPasswordPolicy, type PasswordContext, PasswordPolicy } from '../../../infra/auth/passwords.js';

const GIULIA: PasswordContext = { email: ' Giulia.Rossi@Example.org ', fullName: 'Giulia Rossi' };

const codeOf = (password: string, context: PasswordContext = {}) => {
  const result = checkPasswordPolicy(password, context);
  return result.ok ? 'ok' : result.code;
};

describe('checkPasswordPolicy', () => {
  it('accepts a good passphrase', () => {
    expect(checkPasswordPolicy('correct horse battery staple', GIULIA)).toEqual({ ok: true });
    expect(checkPasswordPolicy('lantern-orchard-velvet-47', GIULIA)).toEqual({ ok: true });
  });

  it('refuses fewer than 10 code points, counted after NFKC normalisation', () => {
    expect(codeOf('abc123')).toBe('PASSWORD_TOO_SHORT');
    expect(codeOf('x7#kLm2!q')).toBe('PASSWORD_TOO_SHORT');
    expect(codeOf('x7#kLm2!qZ')).toBe('ok');
    // Nine emoji are 18 UTF-16 units but 9 code points.
    expect(codeOf('🏠🔑🐢🎒🚲📚🍝🎸🌙')).toBe('PASSWORD_TOO_SHORT');
    expect(codeOf('🏠🔑🐢🎒🚲📚🍝🎸🌙🐝')).toBe('ok');
    // Five "ﬀ" ligatures normalise to ten letters.
    expect(codeOf('\uFB00\uFB00\uFB00\uFB00\uFB00')).toBe('ok');
  });

  it('refuses more than 256 code points', () => {
    const words = 'velvet lantern orchard ';
    const long = words.repeat(12).slice(0, PasswordPolicy.maxLength);
    expect(codeOf(long)).toBe('ok');
    expect(codeOf(`${long}x`)).toBe('PASSWORD_TOO_LONG');
  });

  it.each(['password123', 'qwertyuiop', 'QwertyUIOP', '1234567890', '1q2w3e4r5t', 'basketball'])(
    'refuses the common password %s',
    (password) => {
      const result = checkPasswordPolicy(password, {});
      expect(result).toMatchObject({ ok: false, code: 'PASSWORD_TOO_COMMON' });
      expect(result.ok ? '' : result.message).not.toContain(password);
    },
  );

  it.each([
    ['the email local part', 'giulia.rossi'],
    ['the email local part inside', 'Giulia.Rossi-2024!'],
    ['the full name', 'giuliarossi'],
    ['the full name with its space', 'Giulia Rossi rocks'],
    ['the surname', 'my-rossi-password'],
    ['a name in full-width letters', 'ｇｉｕｌｉａ-loves-rooms'],
  ])('refuses a password containing %s', (_label, password) => {
    expect(codeOf(password, GIULIA)).toBe('PASSWORD_CONTAINS_PERSONAL_DATA');
  });

  it('looks for the email untagged and split at dots, and ignores fragments under 4 code points', () => {
    expect(codeOf('studio-marko-blue', { email: 'marko+rooms@example.org' })).toBe('PASSWORD_CONTAINS_PERSONAL_DATA');
    expect(codeOf('bobcat-forest-lamp', { email: 'bo@example.org', fullName: 'Bo Li' })).toBe('ok');
    expect(codeOf('a-quiet-lib-in-town', { email: 'li.an@example.org' })).toBe('ok');
  });

  it('checks length before the common list and the list before personal data', () => {
    expect(codeOf('password', { email: 'password@example.org' })).toBe('PASSWORD_TOO_SHORT');
    expect(codeOf('qwertyuiop', { fullName: 'Qwerty Uiop' })).toBe('PASSWORD_TOO_COMMON');
  });
});

describe('isCommonPassword', () => {
  it('knows the usual suspects case-insensitively and not a random passphrase', () => {
    expect(isCommonPassword('PASSWORD')).toBe(true);
    expect(isCommonPassword('iloveyou')).toBe(true);
    expect(isCommonPassword('lantern-orchard-velvet-47')).toBe(false);
  });
});
