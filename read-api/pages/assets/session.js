// The pages' sign-in and API calls, shared by /analytics and /ops: a session (access token, refresh token and
// the person) kept in this tab's sessionStorage, JSON requests with `Authorization: Bearer`, one refresh on a 401.

const STORAGE_KEY = 'roomline.session';

/** An API answer that is not a success: `{ error, message, details? }` as the API sends it, with the status. */
export class ApiProblem extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiProblem';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** sessionStorage, or a plain object where the browser refuses storage (private modes, sandboxed frames). */
function tabStorage() {
  try {
    const storage = window.sessionStorage;
    storage.setItem(`${STORAGE_KEY}.probe`, '1');
    storage.removeItem(`${STORAGE_KEY}.probe`);
    return storage;
  } catch {
    const memory = new Map();
    return {
      getItem: (key) => memory.get(key) ?? null,
      setItem: (key, value) => memory.set(key, String(value)),
      removeItem: (key) => memory.delete(key),
    };
  }
}

async function answerOf(response) {
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const body = await response.json();
    if (response.ok) return body;
    throw new ApiProblem(
      response.status,
      body?.error ?? `HTTP_${response.status}`,
      body?.message ?? response.statusText,
      body?.details,
    );
  }
  if (response.ok) return response.text();
  throw new ApiProblem(
    response.status,
    `HTTP_${response.status}`,
    response.statusText || `the server answered ${response.status}`,
  );
}

async function send(path, { method = 'GET', body, token } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiProblem(0, 'NETWORK', 'the server could not be reached; check the connection and try again');
  }
  return answerOf(response);
}

/** The person signed in, if any, and the calls made as them. */
export class Session {
  #storage = tabStorage();
  #state = null;
  #refreshing = null;
  #listeners = new Set();

  constructor() {
    try {
      const saved = JSON.parse(this.#storage.getItem(STORAGE_KEY) ?? 'null');
      if (saved?.accessToken && saved.user) this.#state = saved;
    } catch {
      this.#storage.removeItem(STORAGE_KEY);
    }
  }

  /** `{ id, email, role, fullName, … }` of the person signed in, or null. */
  get user() {
    return this.#state?.user ?? null;
  }

  /** Called with the person (or null) whenever someone signs in or out. */
  onChange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #save(state) {
    this.#state = state;
    if (state) this.#storage.setItem(STORAGE_KEY, JSON.stringify(state));
    else this.#storage.removeItem(STORAGE_KEY);
    for (const listener of this.#listeners) listener(this.user);
  }

  /** `POST /api/auth/login`; the person, or an ApiProblem (401 INVALID_CREDENTIALS, 429, …). */
  async signIn(email, password) {
    const session = await send('/api/auth/login', { method: 'POST', body: { email, password } });
    this.#save({ accessToken: session.accessToken, refreshToken: session.refreshToken, user: session.user });
    return session.user;
  }

  /** `POST /api/auth/logout` (the server forgets the session), then forgets it here whatever the answer. */
  async signOut() {
    const state = this.#state;
    this.#save(null);
    if (!state) return;
    await send('/api/auth/logout', {
      method: 'POST',
      body: { refreshToken: state.refreshToken },
      token: state.accessToken,
    }).catch(() => {});
  }

  /** One refresh at a time: a refresh token works once, so parallel 401s share it. */
  #refresh() {
    const state = this.#state;
    if (!state?.refreshToken) return Promise.resolve(false);
    this.#refreshing ??= send('/api/auth/refresh', { method: 'POST', body: { refreshToken: state.refreshToken } })
      .then((session) => {
        this.#save({ accessToken: session.accessToken, refreshToken: session.refreshToken, user: session.user });
        return true;
      })
      .catch(() => false)
      .finally(() => {
        this.#refreshing = null;
      });
    return this.#refreshing;
  }

  /**
   * A JSON call as the person signed in. A 401 (token expired, or ended by a role change) refreshes the session
   * once and tries again; when that fails the person is signed out and the 401 thrown.
   */
  async request(path, options = {}) {
    if (!this.#state) throw new ApiProblem(401, 'UNAUTHENTICATED', 'sign in first');
    try {
      return await send(path, { ...options, token: this.#state.accessToken });
    } catch (problem) {
      if (!(problem instanceof ApiProblem) || problem.status !== 401) throw problem;
      if (await this.#refresh()) return send(path, { ...options, token: this.#state.accessToken });
      this.#save(null);
      throw problem;
    }
  }
}

const SIGN_IN_MESSAGES = {
  INVALID_CREDENTIALS: 'The email or the password is wrong.',
  TOO_MANY_LOGIN_ATTEMPTS: 'Too many failed sign-ins: wait a few minutes, then try again.',
};

/**
 * Wires a page's sign-in form and account bar to a session. `elements`: `form` (with inputs named email and
 * password), `error` (where a failed sign-in is said), `signedOut` (shown while nobody is signed in), `account`
 * (shown while someone is), `who` (their email and role), `signOut` (the button).
 */
export function bindSignIn(session, elements, onChange) {
  const { form, error, signedOut, account, who, signOut } = elements;
  const show = (user) => {
    signedOut.hidden = Boolean(user);
    account.hidden = !user;
    who.textContent = user ? `${user.email ?? user.id} (${user.role})` : '';
    onChange(user);
  };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const button = form.querySelector('button[type="submit"]');
    error.textContent = '';
    if (button) button.disabled = true;
    try {
      await session.signIn(String(data.get('email') ?? '').trim(), String(data.get('password') ?? ''));
      form.reset();
    } catch (problem) {
      error.textContent =
        problem instanceof ApiProblem ? (SIGN_IN_MESSAGES[problem.code] ?? problem.message) : 'Signing in failed.';
    } finally {
      if (button) button.disabled = false;
    }
  });
  signOut.addEventListener('click', () => {
    void session.signOut();
  });
  session.onChange(show);
  show(session.user);
}
