// First-run setup (creates the org and its owner) and login.

import { useState, type FormEvent } from "react";
import { ApiError, post, saveToken } from "./api";

export function Auth({ setUp, onDone }: { setUp: boolean; onDone: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = Object.fromEntries(new FormData(e.currentTarget)) as Record<string, string>;
    setBusy(true);
    setError(null);
    try {
      const answer = setUp
        ? await post<{ token: string }>("/auth/login", { email: form.email, password: form.password })
        : await post<{ token: string }>("/setup", form);
      saveToken(answer.token);
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth">
      <form onSubmit={submit} aria-label={setUp ? "Log in" : "Set up Octo"}>
        <h1>Octo</h1>
        {setUp ? <p>Log in to your team.</p> : <p>Welcome! Create your organisation and its owner.</p>}
        {!setUp && (
          <>
            <label>
              Organisation <input name="org_name" required maxLength={80} autoFocus />
            </label>
            <label>
              Your handle <input name="name" required pattern="[A-Za-z0-9._\-]{1,40}" />
            </label>
          </>
        )}
        <label>
          Email <input name="email" type="email" required autoFocus={setUp} />
        </label>
        <label>
          Password <input name="password" type="password" required minLength={8} maxLength={256} />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {setUp ? "Log in" : "Create organisation"}
        </button>
      </form>
    </main>
  );
}
