// One channel: history (paged back on scroll), live events, the agent status
// line, typing, jump to first unread, the thread, members and group.md panels.

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { get } from "./api";
import type { Session } from "./Chat";
import { applyEvent } from "./events";
import { MessageItem } from "./MessageItem";
import { Composer } from "./Composer";
import { MembersPanel } from "./MembersPanel";
import { GroupmdPanel } from "./GroupmdPanel";
import type { Message, OctoEvent, TreeChannel } from "./types";

const PAGE = 50;

interface Props {
  session: Session;
  entry: TreeChannel;
  title: string;
  typing: Record<string, number>;
  /** The newest seq the session has seen in this channel. */
  knownSeq: number;
  /** The user's read cursor here when the channel was opened. */
  readSeq: number;
  subscribe: (l: (ev: OctoEvent) => void) => () => void;
  markRead: (channelId: string, seq: number, member: boolean) => void;
}

export function ChannelView({ session, entry, title, typing, knownSeq, readSeq: readAtOpen, subscribe, markRead }: Props) {
  const channel = entry.channel;
  const [messages, setMessages] = useState<Message[]>([]);
  const [before, setBefore] = useState<number | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [thread, setThread] = useState<Message[] | null>(null);
  const [threadId, setThreadId] = useState<string | null>(null);
  const [side, setSide] = useState<"thread" | "threadmd" | "members" | "groupmd" | null>(null);

  // Esc closes the side panel.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !document.querySelector("[role=dialog]")) setSide(null);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const [status, setStatus] = useState<Record<string, string>>({});
  const [lastSeq, setLastSeq] = useState(knownSeq);
  // Everything after this seq was unread when the channel was opened.
  const [readSeq] = useState(readAtOpen);
  const [openSeq, setOpenSeq] = useState(knownSeq);
  const list = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const keepFromBottom = useRef<number | null>(null);
  const [dividerSeen, setDividerSeen] = useState(false);
  // Once the first unread has been on screen, the banner has done its job.
  const checkDivider = useCallback(() => {
    const el = list.current;
    const divider = el?.querySelector(".unread-divider");
    if (!el || !divider) return;
    if (divider.getBoundingClientRect().top >= el.getBoundingClientRect().top) setDividerSeen(true);
  }, []);
  const threadRef = useRef(threadId);
  threadRef.current = threadId;

  useEffect(() => {
    let stop = false;
    get<{ items: Message[]; next: number | null }>(`/channels/${channel.id}/messages?limit=${PAGE}`).then((page) => {
      if (stop) return;
      setMessages((live) => {
        const known = new Set(page.items.map((m) => m.id));
        return [...page.items, ...live.filter((m) => !known.has(m.id))];
      });
      setBefore(page.next);
      // The page may be newer than the socket's last word (a message posted
      // just before the click): it was there at opening, so it can be unread,
      // and reading it moves the cursor.
      const newest = page.items.reduce((n, m) => Math.max(n, m.seq), 0);
      setOpenSeq((s) => Math.max(s, newest));
      setLastSeq((s) => Math.max(s, newest));
      setLoaded(true);
    });
    return () => {
      stop = true;
    };
  }, [channel.id]);

  useEffect(
    () =>
      subscribe((ev) => {
        if (ev.channel_id !== channel.id) return;
        setLastSeq((s) => Math.max(s, ev.seq));
        setMessages((list) => applyEvent(list, ev, null));
        const open = threadRef.current;
        if (open) setThread((t) => (t ? applyEvent(t, ev, open) : t));
        if (ev.kind === "agent.status") {
          const p = ev.payload as { principal_id: string; text: string };
          setStatus((s) => ({ ...s, [p.principal_id]: p.text }));
        }
        if (ev.kind === "message.finished" || ev.kind === "message.created") {
          // An agent that answered is done with its status line.
          setStatus((s) => (s[ev.actor] ? { ...s, [ev.actor]: "" } : s));
        }
      }),
    [channel.id, subscribe],
  );

  // Only members keep a read cursor; a visitor of a public channel has none.
  useEffect(() => {
    if (document.visibilityState === "visible" && lastSeq > 0) markRead(channel.id, lastSeq, entry.is_member);
  }, [channel.id, lastSeq, markRead, entry.is_member]);

  // Follow new messages while at the bottom; keep the view still when older
  // pages are put above.
  useLayoutEffect(() => {
    const el = list.current;
    if (!el) return;
    if (keepFromBottom.current !== null) {
      el.scrollTop = el.scrollHeight - keepFromBottom.current;
      keepFromBottom.current = null;
    } else if (stick.current) {
      el.scrollTop = el.scrollHeight;
    }
    checkDivider();
  }, [messages, checkDivider]);

  const loadOlder = useCallback(async () => {
    if (before === null) return;
    const page = await get<{ items: Message[]; next: number | null }>(
      `/channels/${channel.id}/messages?limit=${PAGE}&before=${before}`,
    );
    const el = list.current;
    if (el) keepFromBottom.current = el.scrollHeight - el.scrollTop;
    setMessages((list) => [...page.items.filter((m) => !list.some((x) => x.id === m.id)), ...list]);
    setBefore(page.next);
  }, [before, channel.id]);

  const onScroll = () => {
    const el = list.current;
    if (!el) return;
    checkDivider();
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (el.scrollTop < 80 && before !== null && loaded) void loadOlder();
  };

  const openThread = useCallback(
    async (root: Message) => {
      setThreadId(root.id);
      setSide("thread");
      setThread(null);
      const page = await get<{ items: Message[] }>(`/channels/${channel.id}/threads/${root.id}/messages?limit=500`);
      setThread(page.items);
    },
    [channel.id],
  );

  const jumpToUnread = async () => {
    // Page back until the first unread message is loaded, then show it.
    let guard = 20;
    let oldest = messages[0]?.seq ?? 0;
    let cursor = before;
    while (oldest > readSeq + 1 && cursor !== null && guard-- > 0) {
      const page = await get<{ items: Message[]; next: number | null }>(
        `/channels/${channel.id}/messages?limit=${PAGE}&before=${cursor}`,
      );
      setMessages((list) => [...page.items.filter((m) => !list.some((x) => x.id === m.id)), ...list]);
      cursor = page.next;
      oldest = page.items[0]?.seq ?? oldest;
    }
    setBefore(cursor);
    stick.current = false;
    // After React has put the older pages in: show the divider, then hide the banner.
    requestAnimationFrame(() => {
      list.current?.querySelector(".unread-divider")?.scrollIntoView({ block: "center" });
      setDividerSeen(true);
    });
  };

  // The divider marks what was unread on arrival, not what came in since.
  const firstUnread = messages.find((m) => m.seq > readSeq && m.seq <= openSeq && m.author_id !== session.me.id);
  // "N new messages — jump" while the first unread is above the view (or not
  // loaded yet); the count has a "+" when older pages may hold more.
  const unreadLoaded = messages.filter((m) => m.seq > readSeq && m.seq <= openSeq && m.author_id !== session.me.id).length;
  const morePages = before !== null && (messages[0]?.seq ?? 0) > readSeq + 1;
  const jump =
    loaded && !dividerSeen && readSeq < openSeq && (unreadLoaded > 0 || morePages)
      ? `${unreadLoaded}${morePages ? "+" : ""} new message${unreadLoaded === 1 && !morePages ? "" : "s"}`
      : null;
  const typingNames = Object.keys(typing)
    .map((id) => session.people.get(id)?.name)
    .filter(Boolean);
  const statusLines = Object.entries(status).filter(([, text]) => text);
  const threadRoot = messages.find((m) => m.id === threadId);

  return (
    <div className="channel-area">
      <main className="channel-view" aria-label={title}>
        <header className="channel-header">
          <h2>{title}</h2>
          {channel.topic && <span className="topic">{channel.topic}</span>}
          <span className="spacer" />
          {session.caps.features.group_md && (
            <button aria-pressed={side === "groupmd"} onClick={() => setSide(side === "groupmd" ? null : "groupmd")}>
              group.md
            </button>
          )}
          <button aria-pressed={side === "members"} onClick={() => setSide(side === "members" ? null : "members")}>
            Members
          </button>
        </header>
        <div className="messages" ref={list} onScroll={onScroll} data-testid="messages">
          {jump && (
            <button className="unread-jump" onClick={() => void jumpToUnread()}>
              {jump} — jump
            </button>
          )}
          {before !== null && loaded && (
            <button className="link older" onClick={loadOlder}>
              Load older messages
            </button>
          )}
          {before === null && loaded && <p className="start">This is the start of {title}.</p>}
          {messages.map((m) => (
            <div key={m.id}>
              {m === firstUnread && <div className="unread-divider">New</div>}
              <MessageItem session={session} message={m} onThread={() => openThread(m)} />
            </div>
          ))}
        </div>
        <div className="status-lines" aria-live="polite">
          {statusLines.map(([id, text]) => (
            <div key={id} className="agent-status">
              <strong>{session.people.get(id)?.name ?? "agent"}</strong> {text}
            </div>
          ))}
          {typingNames.length > 0 && (
            <div className="typing">
              {typingNames.join(", ")} {typingNames.length === 1 ? "is" : "are"} typing…
            </div>
          )}
        </div>
        <Composer session={session} channelId={channel.id} threadId={null} placeholder={`Message ${title}`} />
      </main>
      {side === "thread" && threadId && (
        <aside className="side thread-panel" aria-label="Thread">
          <header>
            <h3>Thread</h3>
            {session.caps.features.group_md && (
              <button onClick={() => setSide("threadmd")}>
                Thread group.md
              </button>
            )}
            <button aria-label="Close thread" onClick={() => setSide(null)}>
              ✕
            </button>
          </header>
          <div className="messages">
            {thread === null && <p>Loading…</p>}
            {(thread ?? (threadRoot ? [threadRoot] : [])).map((m) => (
              <MessageItem key={m.id} session={session} message={m} />
            ))}
          </div>
          <Composer session={session} channelId={channel.id} threadId={threadId} placeholder="Reply in thread" />
        </aside>
      )}
      {side === "threadmd" && threadId && (
        <GroupmdPanel
          session={session}
          channelId={channel.id}
          threadId={threadId}
          subscribe={subscribe}
          onClose={() => setSide("thread")}
        />
      )}
      {side === "groupmd" && (
        <GroupmdPanel session={session} channelId={channel.id} subscribe={subscribe} onClose={() => setSide(null)} />
      )}
      {side === "members" && <MembersPanel session={session} channelId={channel.id} onClose={() => setSide(null)} />}
    </div>
  );
}
