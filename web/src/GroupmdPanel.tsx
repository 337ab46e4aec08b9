// The channel's group.md as a side panel: read (safe Markdown), edit with
// compare-and-swap (If-Match), a conflict view that never drops the user's
// text, live refresh on `groupmd.updated`, and the revision history.

import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api, get } from "./api";
import type { Session } from "./Chat";
import { GroupmdProposals } from "./GroupmdProposals";
import { Markdown } from "./markdown";
import type { OctoEvent } from "./types";

interface Revision {
  revision: number;
  base_revision: number | null;
  author_id: string | null;
  created_at: string | null;
  text?: string;
  diff?: string;
}

interface Props {
  session: Session;
  channelId: string;
  /** A thread's own group.md instead of the channel's. */
  threadId?: string | null;
  subscribe: (l: (ev: OctoEvent) => void) => () => void;
  onClose: () => void;
}

export function GroupmdPanel({ session, channelId, threadId = null, subscribe, onClose }: Props) {
  // Every route of the document hangs off this: the channel's or the thread's.
  const docPath = threadId ? `/channels/${channelId}/threads/${threadId}/groupmd` : `/channels/${channelId}/groupmd`;
  const [doc, setDoc] = useState<Revision | null>(null);
  // The revision the draft was started from: the If-Match of Save.
  const [draft, setDraft] = useState<{ base: number; text: string } | null>(null);
  const [conflict, setConflict] = useState<Revision | null>(null);
  const [history, setHistory] = useState<Revision[] | null>(null);
  const [viewing, setViewing] = useState<Revision | null>(null);
  const [error, setError] = useState<string | null>(null);
  const editing = useRef(false);
  editing.current = draft !== null;
  const historyOpen = useRef(false);
  historyOpen.current = history !== null;

  const load = useCallback(async () => {
    const current = await get<Revision>(docPath);
    setDoc(current);
    return current;
  }, [docPath]);

  const loadHistory = useCallback(async () => {
    try {
      const list = await get<{ revisions: Revision[] }>(`${docPath}/revisions`);
      setHistory(list.revisions.slice().reverse());
    } catch (e) {
      // Older servers keep a thread's revisions without a route to them.
      const missing = threadId && e instanceof ApiError && e.status === 404;
      setError(missing ? "This server has no history for a thread's group.md yet." : e instanceof Error ? e.message : String(e));
    }
  }, [docPath, threadId]);

  useEffect(() => {
    void load().catch((e) => setError(String(e instanceof Error ? e.message : e)));
  }, [load]);

  // Someone saved: show it unless the user is mid-edit (Save will then tell
  // them through the 409 instead of their text being replaced under them).
  useEffect(
    () =>
      subscribe((ev) => {
        if (ev.channel_id !== channelId || ev.kind !== "groupmd.updated") return;
        if ((ev.payload.thread_id ?? null) !== threadId) return;
        if (!editing.current) void load();
        if (historyOpen.current) void loadHistory();
      }),
    [channelId, threadId, subscribe, load, loadHistory],
  );

  const name = (id: string | null) => (id ? (session.people.get(id)?.name ?? "someone") : "template");
  const when = (at: string | null) => (at ? new Date(at).toLocaleString() : "");

  const save = async (base: number, text: string) => {
    setError(null);
    try {
      const saved = await api<Revision>("PUT", docPath, { text }, { "If-Match": `"${base}"` });
      setDoc(saved);
      setDraft(null);
      setConflict(null);
    } catch (e) {
      if (e instanceof ApiError && e.code === "stale_revision") {
        setConflict((e.body as { current: Revision }).current);
      } else {
        setError(e instanceof Error ? e.message : String(e));
      }
    }
  };

  const restore = async (n: number) => {
    if (!doc) return;
    setError(null);
    try {
      // A restore is a write on top of the revision this panel shows.
      const saved = await api<Revision>(
        "POST",
        `${docPath}/revisions/${n}/restore`,
        {},
        { "If-Match": `"${doc.revision}"` },
      );
      setDoc(saved);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      await load();
    }
    setViewing(null);
    await loadHistory();
  };

  return (
    <aside className="side groupmd-panel" aria-label={threadId ? "Thread group.md" : "group.md"}>
      <header>
        <h3>{threadId ? "Thread group.md" : "group.md"}</h3>
        <span className="muted small">{doc && `revision ${doc.revision}`}</span>
        <button aria-label="Close group.md" onClick={onClose}>
          ✕
        </button>
      </header>
      <div className="groupmd-body">
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {!doc && <p>Loading…</p>}
        {doc && draft === null && (
          <>
            <div className="toolbar">
              <button onClick={() => setDraft({ base: doc.revision, text: doc.text ?? "" })}>Edit</button>
              <button
                aria-pressed={history !== null}
                onClick={() => (history ? (setHistory(null), setViewing(null)) : void loadHistory())}
              >
                History
              </button>
            </div>
            <div className="groupmd-doc" data-testid="groupmd-doc">
              <Markdown text={doc.text ?? ""} me={session.me.name} />
            </div>
          </>
        )}
        {draft !== null && (
          <div className="groupmd-edit">
            <textarea
              aria-label="group.md text"
              value={draft.text}
              onChange={(e) => setDraft({ ...draft, text: e.target.value })}
            />
            <div className="toolbar">
              <button className="primary" onClick={() => void save(draft.base, draft.text)}>
                Save
              </button>
              <button onClick={() => (setDraft(null), setConflict(null))}>Cancel</button>
              <span className="muted small">editing revision {draft.base}</span>
            </div>
          </div>
        )}
        {conflict && draft && (
          <section className="groupmd-conflict" role="alert" aria-label="Edit conflict">
            <p>
              <strong>{name(conflict.author_id)}</strong> changed group.md while you were editing (now revision{" "}
              {conflict.revision}; you started from {draft.base}). Your text is kept in the editor: merge their version
              into it and save again.
            </p>
            <div className="two">
              <div>
                <h4>Their version</h4>
                <pre data-testid="theirs">{conflict.text}</pre>
              </div>
              <div>
                <h4>Your version</h4>
                <pre data-testid="yours">{draft.text}</pre>
              </div>
            </div>
            <div className="toolbar">
              <button
                onClick={() => {
                  // Keep editing the user's text, now on top of the newest revision.
                  setDraft({ base: conflict.revision, text: draft.text });
                  setDoc(conflict);
                  setConflict(null);
                }}
              >
                I merged it: save over revision {conflict.revision}
              </button>
              <button
                onClick={() => {
                  setDraft({ base: conflict.revision, text: conflict.text ?? "" });
                  setDoc(conflict);
                  setConflict(null);
                }}
              >
                Discard mine, edit theirs
              </button>
            </div>
          </section>
        )}
        {doc && draft === null && <GroupmdProposals session={session} channelId={channelId} subscribe={subscribe} />}
        {history && draft === null && (
          <section className="groupmd-history" aria-label="Revisions">
            <h4>History</h4>
            <ol>
              {history.map((r) => (
                <li key={r.revision}>
                  <button className="link" onClick={() => void get<Revision>(`${docPath}/revisions/${r.revision}`).then(setViewing)}>
                    Revision {r.revision}
                  </button>{" "}
                  <span className="muted small">
                    {name(r.author_id)} {when(r.created_at)}
                  </span>
                </li>
              ))}
            </ol>
            {viewing && (
              <div className="groupmd-revision" aria-label={`Revision ${viewing.revision}`}>
                <h4>
                  Revision {viewing.revision} by {name(viewing.author_id)}
                </h4>
                {viewing.diff && (
                  <pre className="diff" data-testid="diff">
                    {viewing.diff.split("\n").map((line, i) => (
                      <span key={i} className={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : ""}>
                        {line}
                        {"\n"}
                      </span>
                    ))}
                  </pre>
                )}
                <div className="groupmd-doc">
                  <Markdown text={viewing.text ?? ""} me={session.me.name} />
                </div>
                {doc && viewing.revision !== doc.revision && (
                  <button onClick={() => void restore(viewing.revision)}>Restore revision {viewing.revision}</button>
                )}
              </div>
            )}
          </section>
        )}
      </div>
    </aside>
  );
}
