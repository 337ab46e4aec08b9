// An agent's profile, opened from its name anywhere (messages, members,
// DMs): who it is and who answers for it, where it is and when it wakes, and,
// for its owner and admins, its tokens (list, new, revoke).

import { useCallback, useEffect, useState } from "react";
import { del, get, post } from "./api";
import type { Session } from "./Chat";
import { PresenceDot } from "./Sidebar";
import type { Principal } from "./types";
import "./AgentProfile.css";

interface AgentChannel {
  channel_id: string;
  kind: string;
  name: string | null;
  private: boolean;
  trigger: string;
  lag: number;
  with_you: boolean;
}

interface TokenInfo {
  id: string;
  label: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  expires_at: string | null;
}

/** The newest status line an agent showed, and where. */
export interface AgentStatus {
  text: string;
  channel_id: string;
}

interface Props {
  session: Session;
  agentId: string;
  status?: AgentStatus;
  channelName: (id: string) => string;
  onOpenChannel: (id: string) => void;
  onClose: () => void;
}

const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString() : "never");

export function AgentProfile({ session, agentId, status, channelName, onOpenChannel, onClose }: Props) {
  const [agent, setAgent] = useState<Principal | null>(session.people.get(agentId) ?? null);
  const [channels, setChannels] = useState<AgentChannel[] | null>(null);
  const [tokens, setTokens] = useState<TokenInfo[] | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const me = session.me;
  // The server decides; this only avoids asking for what would be refused.
  const mayManage = me.role === "owner" || me.role === "admin" || agent?.owner_id === me.id;

  const loadTokens = useCallback(async () => {
    const list = await get<{ items: TokenInfo[] }>(`/agents/${agentId}/tokens`);
    setTokens(list.items);
  }, [agentId]);

  useEffect(() => {
    let stop = false;
    const fail = (e: unknown) => !stop && setError(e instanceof Error ? e.message : String(e));
    get<Principal>(`/agents/${agentId}`).then((p) => !stop && setAgent(p), fail);
    get<{ items: AgentChannel[] }>(`/agents/${agentId}/channels`).then((l) => !stop && setChannels(l.items), fail);
    return () => {
      stop = true;
    };
  }, [agentId]);

  useEffect(() => {
    if (mayManage) void loadTokens().catch((e) => setError(e instanceof Error ? e.message : String(e)));
  }, [mayManage, loadTokens]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);

  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      await loadTokens();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const name = agent?.name ?? "agent";
  const owner = agent?.owner_id ? session.people.get(agent.owner_id) : undefined;
  const presence = session.presence[agentId] ?? "offline";
  const live = (tokens ?? []).filter((t) => !t.revoked_at);
  const lastUsed = live
    .map((t) => t.last_used_at)
    .filter((t): t is string => !!t)
    .sort()
    .at(-1);
  const common = (channels ?? []).filter((c) => c.with_you);
  const elsewhere = (channels ?? []).filter((c) => !c.with_you);
  const label = (c: AgentChannel) => (c.name ? `#${c.name}` : channelName(c.channel_id));

  const channelRow = (c: AgentChannel) => (
    <li key={c.channel_id}>
      <button className="link" onClick={() => (onOpenChannel(c.channel_id), onClose())}>
        {c.private && c.kind === "channel" ? "🔒 " : ""}
        {label(c)}
      </button>{" "}
      <span className="muted small">
        wakes on {c.trigger}
        {c.lag > 0 ? ` · ${c.lag} behind` : " · caught up"}
      </span>
    </li>
  );

  return (
    <div className="backdrop" onClick={onClose}>
      <section
        className="dialog profile"
        role="dialog"
        aria-label={`Profile of @${name}`}
        onClick={(e) => e.stopPropagation()}
      >
        <header>
          {agent?.avatar_url && <img className="avatar" src={agent.avatar_url} alt="" />}
          <div className="who">
            <h2>{agent?.display_name || name}</h2>
            <span className="muted">@{name}</span> <span className="agent-tag">agent</span>
            {agent?.deactivated && <span className="muted"> · deactivated</span>}
          </div>
          <button aria-label="Close profile" onClick={onClose}>
            ✕
          </button>
        </header>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {agent?.description && <p className="description">{agent.description}</p>}
        {agent?.skills && agent.skills.length > 0 && (
          <p className="skills">
            {agent.skills.map((s) => (
              <span key={s} className="chip">
                {s}
              </span>
            ))}
          </p>
        )}
        <dl>
          <dt>Presence</dt>
          <dd data-testid="profile-presence">
            <PresenceDot session={session} id={agentId} /> {presence}
            {lastUsed && <span className="muted"> · last active {when(lastUsed)}</span>}
          </dd>
          <dt>Owner</dt>
          <dd>{owner ? `@${owner.name}` : agent?.owner_id ? "someone" : "built in"}</dd>
          {agent?.created_at && (
            <>
              <dt>Created</dt>
              <dd>{when(agent.created_at)}</dd>
            </>
          )}
          {status?.text && (
            <>
              <dt>Status</dt>
              <dd>
                {status.text} <span className="muted">in {channelName(status.channel_id)}</span>
              </dd>
            </>
          )}
        </dl>
        <section aria-label="Channels in common">
          <h3>Channels in common</h3>
          {channels === null ? <p className="muted">Loading…</p> : common.length ? <ul>{common.map(channelRow)}</ul> : <p className="muted">None.</p>}
          {elsewhere.length > 0 && (
            <>
              <h4>Also in</h4>
              <ul>{elsewhere.map(channelRow)}</ul>
            </>
          )}
        </section>
        {mayManage && (
          <section aria-label="Tokens">
            <h3>Tokens</h3>
            {secret && (
              <p className="secret">
                New token (shown once): <code>{secret}</code>
              </p>
            )}
            <table>
              <tbody>
                {(tokens ?? []).map((t) => (
                  <tr key={t.id} className={t.revoked_at ? "revoked" : undefined}>
                    <td>{t.label}</td>
                    <td className="muted small">created {when(t.created_at)}</td>
                    <td className="muted small">used {when(t.last_used_at)}</td>
                    <td>
                      {t.revoked_at ? (
                        <span className="muted small">revoked</span>
                      ) : (
                        <button
                          aria-label={`Revoke token ${t.label}`}
                          onClick={() => void act(() => del(`/agents/${agentId}/tokens/${t.id}`))}
                        >
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button
              onClick={() =>
                void act(async () => {
                  const made = await post<{ token: string }>(`/agents/${agentId}/tokens`, { label: "web" });
                  setSecret(made.token);
                })
              }
            >
              New token
            </button>
          </section>
        )}
      </section>
    </div>
  );
}
