// Review mode inside the group.md panel: pending proposals (author, summary,
// the change as a diff) that members with `edit_groupmd` accept or reject,
// live on `groupmd.proposed` / `groupmd.proposal_resolved`, and the channel's
// mode (auto / review) for those who may manage the channel.

import { useCallback, useEffect, useState } from "react";
import { ApiError, api, get, put } from "./api";
import type { Session } from "./Chat";
import type { OctoEvent } from "./types";
import "./GroupmdProposals.css";

export interface Proposal {
  id: string;
  channel_id: string;
  thread_root_id: string | null;
  base_revision: number;
  text: string;
  summary: string | null;
  diff: string;
  author_id: string;
  created_at: string;
  status: "pending" | "accepted" | "rejected" | "superseded";
  resolved_by: string | null;
  resolved_at: string | null;
  revision: number | null;
  /** Pending ones: whether accepting now goes through (null once resolved). */
  applies_cleanly: boolean | null;
}

type Mode = "auto" | "review";

interface Props {
  session: Session;
  channelId: string;
  /** A thread's own group.md (its root message id); the channel's if absent. */
  threadRoot?: string;
  subscribe: (l: (ev: OctoEvent) => void) => () => void;
}

const LIVE = new Set(["groupmd.proposed", "groupmd.proposal_resolved", "groupmd.updated"]);

export function GroupmdProposals({ session, channelId, threadRoot, subscribe }: Props) {
  const [proposals, setProposals] = useState<Proposal[] | null>(null);
  const [mode, setMode] = useState<Mode | null>(null);
  const [allowed, setAllowed] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const base = threadRoot
    ? `/channels/${channelId}/threads/${threadRoot}/groupmd/proposals`
    : `/channels/${channelId}/groupmd/proposals`;

  const load = useCallback(async () => {
    const list = await get<{ proposals: Proposal[] }>(`${base}?status=pending`);
    setProposals(list.proposals);
  }, [base]);

  useEffect(() => {
    setProposals(null);
    const failed = (e: unknown) => setError(e instanceof Error ? e.message : String(e));
    void load().catch(failed);
    get<{ mode: Mode }>(`/channels/${channelId}/groupmd/settings`).then((s) => setMode(s.mode), failed);
    // What the caller may do here decides which buttons exist at all.
    get<{ allowed: string[] }>(`/channels/${channelId}/permissions`).then((p) => setAllowed(p.allowed), failed);
  }, [channelId, load]);

  useEffect(
    () =>
      subscribe((ev) => {
        if (ev.channel_id !== channelId || !LIVE.has(ev.kind)) return;
        if ((ev.payload.thread_id ?? undefined) !== threadRoot) return;
        void load().catch(() => {});
      }),
    [channelId, threadRoot, subscribe, load],
  );

  const canReview = allowed.includes("edit_groupmd");
  // The mode is the channel's; a thread's document follows it.
  const canSetMode = allowed.includes("manage_channel") && !threadRoot;
  const name = (id: string | null) => (id ? (session.people.get(id)?.name ?? "someone") : "someone");

  const resolve = async (p: Proposal, verb: "accept" | "reject") => {
    setError(null);
    setBusy(p.id);
    try {
      await api<Proposal>("POST", `${base}/${p.id}/${verb}`, {});
    } catch (e) {
      if (e instanceof ApiError && e.code === "stale_revision") {
        setError(
          `group.md has changed where this proposal changes it too (now revision ${
            (e.body as { current?: { revision?: number } })?.current?.revision ?? "?"
          }): it cannot be applied as it is. Reject it, or ask ${name(p.author_id)} to propose again.`,
        );
      } else if (!(e instanceof ApiError && e.code === "proposal_resolved")) {
        setError(e instanceof Error ? e.message : String(e));
      }
    } finally {
      setBusy(null);
      await load().catch(() => {});
    }
  };

  const changeMode = async (next: Mode) => {
    setError(null);
    try {
      const saved = await put<{ mode: Mode }>(`/channels/${channelId}/groupmd/settings`, { mode: next });
      setMode(saved.mode);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  const pending = proposals ?? [];
  if (mode === null && pending.length === 0 && !error) return null;

  return (
    <section className="groupmd-proposals" aria-label="Proposals">
      <div className="toolbar">
        <h4>Proposals{pending.length > 0 && ` (${pending.length})`}</h4>
        {mode !== null &&
          (canSetMode ? (
            <label className="muted small">
              Changes{" "}
              <select aria-label="group.md mode" value={mode} onChange={(e) => void changeMode(e.target.value as Mode)}>
                <option value="auto">apply at once</option>
                <option value="review">are reviewed</option>
              </select>
            </label>
          ) : (
            <span className="muted small" data-testid="groupmd-mode">
              {mode === "review" ? "changes are reviewed" : "changes apply at once"}
            </span>
          ))}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {proposals !== null && pending.length === 0 && <p className="muted small">No pending proposals.</p>}
      {pending.map((p) => (
        <article key={p.id} className="proposal" aria-label={`Proposal by ${name(p.author_id)}`}>
          <div className="proposal-head">
            <strong>{name(p.author_id)}</strong>
            <span className="muted small">
              {new Date(p.created_at).toLocaleString()} · on revision {p.base_revision}
            </span>
          </div>
          {p.summary && <p className="proposal-summary">{p.summary}</p>}
          {p.applies_cleanly === false && (
            <p className="muted small" data-testid="proposal-conflict">
              group.md has since changed in the same places: accepting will be refused.
            </p>
          )}
          <pre className="diff" data-testid="proposal-diff">
            {p.diff.split("\n").map((line, i) => (
              <span key={i} className={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : ""}>
                {line}
                {"\n"}
              </span>
            ))}
          </pre>
          {canReview && (
            <div className="toolbar">
              <button className="primary" disabled={busy === p.id} onClick={() => void resolve(p, "accept")}>
                Accept
              </button>
              <button disabled={busy === p.id} onClick={() => void resolve(p, "reject")}>
                Reject
              </button>
            </div>
          )}
        </article>
      ))}
    </section>
  );
}
