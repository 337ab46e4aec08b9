// Admin pages: members and roles, agents and their tokens, the audit log.

import { useCallback, useEffect, useState } from "react";
import { get, patch, post } from "./api";
import type { Session } from "./Chat";
import type { Principal } from "./types";
import { OverridesEditor } from "./OverridesEditor";

interface AuditEntry {
  id: string;
  actor_id: string;
  action: string;
  target_kind: string;
  target_id: string;
  at: string;
}

export function Admin({ session }: { session: Session }) {
  const [tab, setTab] = useState<"members" | "agents" | "overrides" | "audit">("members");
  const [people, setPeople] = useState<Principal[]>([]);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const org = session.org.id;

  const load = useCallback(async () => {
    const list = await get<{ items: Principal[] }>(`/orgs/${org}/members`);
    setPeople(list.items);
    const log = await get<{ items: AuditEntry[] }>(`/orgs/${org}/audit`).catch(() => ({ items: [] }));
    setAudit(log.items);
  }, [org]);

  useEffect(() => {
    void load();
  }, [load]);

  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      await load();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  const name = (id: string) => people.find((p) => p.id === id)?.name ?? id;

  return (
    <main className="admin" aria-label="Admin">
      <header className="channel-header">
        <h2>Admin</h2>
        {(
          [
            ["members", "Members & roles"],
            ["agents", "Agents & tokens"],
            ["overrides", "Overrides"],
            ["audit", "Audit log"],
          ] as const
        ).map(([t, label]) => (
          <button key={t} aria-pressed={tab === t} onClick={() => setTab(t)}>
            {label}
          </button>
        ))}
      </header>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {secret && (
        <p className="secret">
          New token (shown once): <code>{secret}</code>
        </p>
      )}
      {tab === "members" && (
        <table>
          <tbody>
            {people
              .filter((p) => p.kind === "human")
              .map((p) => (
                <tr key={p.id}>
                  <td>@{p.name}</td>
                  <td>{p.display_name}</td>
                  <td>
                    <select
                      value={p.role}
                      disabled={p.role === "owner"}
                      aria-label={`Role of ${p.name}`}
                      onChange={(e) => act(() => patch(`/orgs/${org}/members/${p.id}`, { role: e.target.value }))}
                    >
                      {["owner", "admin", "member", "guest"].map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
      {tab === "agents" && (
        <>
          <form
            className="inline"
            onSubmit={(e) => {
              e.preventDefault();
              const v = Object.fromEntries(new FormData(e.currentTarget)) as Record<string, string>;
              void act(async () => {
                const made = await post<{ token?: string }>(`/orgs/${org}/agents`, { name: v.name, description: v.description || null });
                if (made.token) setSecret(made.token);
              });
            }}
          >
            <input name="name" placeholder="agent handle" required aria-label="Agent handle" />
            <input name="description" placeholder="what it does" aria-label="Agent description" />
            <button type="submit">Create agent</button>
          </form>
          <table>
            <tbody>
              {people
                .filter((p) => p.kind === "agent")
                .map((p) => (
                  <tr key={p.id}>
                    <td>@{p.name}</td>
                    <td>{p.description}</td>
                    <td>
                      <button
                        onClick={() =>
                          act(async () => {
                            const t = await post<{ token: string }>(`/agents/${p.id}/tokens`, { label: "web" });
                            setSecret(t.token);
                          })
                        }
                      >
                        New token
                      </button>
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </>
      )}
      {tab === "overrides" && <OverridesEditor orgId={org} />}
      {tab === "audit" && (
        <table>
          <tbody>
            {audit.map((a) => (
              <tr key={a.id}>
                <td>{new Date(a.at).toLocaleString()}</td>
                <td>@{name(a.actor_id)}</td>
                <td>{a.action}</td>
                <td>
                  {a.target_kind} {a.target_kind === "principal" ? `@${name(a.target_id)}` : a.target_id}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}
