// Asks the server what it offers, then shows setup, login, or the chat.

import { useCallback, useEffect, useState } from "react";
import { get, savedToken } from "./api";
import { Auth } from "./Auth";
import { Chat } from "./Chat";
import { applyTheme } from "./theme";
import type { Capabilities } from "./types";

applyTheme();

export function App() {
  const [caps, setCaps] = useState<Capabilities | null>(null);
  const [token, setToken] = useState(savedToken());
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(() => {
    get<Capabilities>("/capabilities").then(setCaps, (e) => setError(String(e)));
    setToken(savedToken());
  }, []);

  useEffect(refresh, [refresh]);

  if (error) return <main className="auth">Octo is not reachable: {error}</main>;
  if (!caps) return <div className="loading">Loading…</div>;
  if (!token || !caps.set_up) return <Auth setUp={caps.set_up} onDone={refresh} />;
  return <Chat caps={caps} onLogout={refresh} />;
}
