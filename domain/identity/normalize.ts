/** The form in which two emails are the same address: trimmed, lower case, NFKC. */
export function normalizeEmail(email: string): string {
  return email.normalize('NFKC').trim().toLowerCase();
}

/** Digits with a leading + (E.164-like): "+39 051 123 4567" and "+390511234567" are one number. */
export function normalizePhone(phone: string): string {
  const trimmed = phone.normalize('NFKC').trim();
  const digits = trimmed.replace(/[^\d]/g, '');
  return trimmed.startsWith('+') ? `+${digits}` : digits;
}

export function isPlausibleEmail(email: string): boolean {
  return /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/.test(email) && email.length <= 254;
}

export function isPlausiblePhone(phone: string): boolean {
  return /^\+?\d{7,15}$/.test(phone);
}
