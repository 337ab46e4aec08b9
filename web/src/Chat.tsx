// The signed-in app: loads the tree, people and presence, keeps one WebSocket,
// and routes its events to the sidebar counts and the open channel.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { get, post, put, saveToken } from "./api";
import { Realtime, type Frame } from "./realtime";
import { treeFromServer, type Capabilities, type Org, type OctoEvent, type Presence, type Principal, type Tree, type TreeChannel } from "./types";
import { Sidebar } from "./Sidebar";
import { ChannelView } from "./ChannelView";
import { Admin } from "./Admin";
import { Dialog, type Field } from "./Dialog";
import { AgentProfile, type AgentStatus } from "./AgentProfile";

export interface Session {
  me: Principal;
  org: Org;
  people: Map<string, Principal>;
  presence: Record<string, Presence>;
  caps: Capabilities;
  send: (frame: object) => void;
  /** Opens an agent's profile. */
  openProfile: (id: string) => void;
}

type Listener = (ev: OctoEvent) => void;

export function allChannels(tree: Tree | null): TreeChannel[] {
  if (!tree) return [];
  return [
    ...tree.spaces.flatMap((s) => [...s.channels, ...s.categories.flatMap((c) => c.channels)]),
    ...tree.dms,
  ];
}

export function channelTitle(tc: TreeChannel["channel"], people: Map<string, Principal>, me: string, members?: string[]) {
  if (tc.name) return `#${tc.name}`;
  const others = (members ?? []).filter((id) => id !== me).map((id) => people.get(id)?.name ?? "someone");
  return others.length ? others.join(", ") : "Direct message";
}

function routeChannel(): string | null {
  const m = location.pathname.match(/^\/c\/([^/]+)/);
  return m ? decodeURIComponent(m[1]) : null;
}

export function Chat({ caps, onLogout }: { caps: Capabilities; onLogout: () => void }) {
  const [me, setMe] = useState<Principal | null>(null);
  const [org, setOrg] = useState<Org | null>(null);
  const [tree, setTree] = useState<Tree | null>(null);
  const [people, setPeople] = useState<Map<string, Principal>>(new Map());
  const [presence, setPresence] = useState<Record<string, Presence>>({});
  const [active, setActive] = useState<string | null>(routeChannel());
  const [page, setPage] = useState<"chat" | "admin">(location.pathname.startsWith("/admin") ? "admin" : "chat");
  const [unread, setUnread] = useState<Record<string, number>>({});
  const [mentions, setMentions] = useState<Record<string, number>>({});
  const [typing, setTyping] = useState<Record<string, Record<string, number>>>({});
  const [connected, setConnected] = useState(false);
  const [dmMembers, setDmMembers] = useState<Record<string, string[]>>({});
  const [dialog, setDialog] = useState<{ title: string; fields: Field[]; submit: (v: Record<string, string>) => Promise<void> } | null>(null);
  const [navOpen, setNavOpen] = useState(false);
  const [profile, setProfile] = useState<string | null>(null);
  const [agentStatus, setAgentStatus] = useState<Record<string, AgentStatus>>({});
  const listeners = useRef(new Set<Listener>());
  const realtime = useRef<Realtime | null>(null);
  const activeRef = useRef(active);
  activeRef.current = active;
  const meRef = useRef<Principal | null>(null);
  meRef.current = me;
  // The newest seq seen per channel, open or not: what "read up to here" means.
  const latestSeq = useRef(new Map<string, number>());
  // How far the user has read per channel: the tree's cursor, then what this
  // page marked. A channel opened later still knows where its "New" starts.
  const readUpTo = useRef(new Map<string, number>());
  // Each channel's last_seq from the first tree: where the socket starts.
  const startAt = useRef<Record<string, number>>({});
  const peopleRef = useRef(people);
  peopleRef.current = people;

  const loadTree = useCallback(async (orgId: string) => {
    const t = treeFromServer(await get<unknown>(`/orgs/${orgId}/tree`));
    if (Object.keys(startAt.current).length === 0) {
      const all = allChannels(t);
      if (all.length <= 1000) startAt.current = Object.fromEntries(all.map((c) => [c.channel.id, c.channel.last_seq]));
    }
    setTree(t);
    setUnread(Object.fromEntries(allChannels(t).map((c) => [c.channel.id, c.unread])));
    for (const c of allChannels(t)) {
      const read = c.channel.last_seq - c.unread;
      readUpTo.current.set(c.channel.id, Math.max(readUpTo.current.get(c.channel.id) ?? 0, read));
    }
    for (const dm of t.dms) {
      get<{ items: { principal_id: string }[] }>(`/channels/${dm.channel.id}/members`).then(
        (list) => setDmMembers((d) => ({ ...d, [dm.channel.id]: list.items.map((i) => i.principal_id) })),
        () => undefined,
      );
    }
  }, []);

  const loadPeople = useCallback(async (orgId: string) => {
    const list = await get<{ items: Principal[] }>(`/orgs/${orgId}/members`);
    setPeople(new Map(list.items.map((p) => [p.id, p])));
    const pres = await get<{ items: { principal_id: string; status: Presence }[] }>(`/orgs/${orgId}/presence`);
    setPresence(Object.fromEntries(pres.items.map((p) => [p.principal_id, p.status])));
  }, []);

  useEffect(() => {
    let stop = false;
    (async () => {
      try {
        const answer = await get<{ principal: Principal; org: Org }>("/me");
        if (stop) return;
        setMe(answer.principal);
        setOrg(answer.org);
        await Promise.all([loadTree(answer.org.id), loadPeople(answer.org.id)]);
      } catch {
        saveToken(null);
        onLogout();
      }
    })();
    return () => {
      stop = true;
    };
  }, [loadTree, loadPeople, onLogout]);

  // Structure changes (new channel, joined, left) re-read the tree, at most
  // once per burst of events.
  const refreshTimer = useRef<number | undefined>(undefined);
  const refreshSoon = useCallback(() => {
    window.clearTimeout(refreshTimer.current);
    refreshTimer.current = window.setTimeout(() => {
      if (org) {
        void loadTree(org.id);
        void loadPeople(org.id);
      }
    }, 150);
  }, [org, loadTree, loadPeople]);

  const onFrame = useCallback(
    (frame: Frame) => {
      switch (frame.type) {
        case "event": {
          latestSeq.current.set(frame.channel_id, Math.max(latestSeq.current.get(frame.channel_id) ?? 0, frame.seq));
          listeners.current.forEach((l) => l(frame));
          // Someone who joined the org after we loaded it.
          if (!peopleRef.current.has(frame.actor)) refreshSoon();
          const mine = meRef.current;
          // Posting moves the author's read cursor on the server (from any
          // device): what one wrote oneself is never "New".
          if (frame.kind === "message.created" && mine && frame.actor === mine.id)
            readUpTo.current.set(frame.channel_id, Math.max(readUpTo.current.get(frame.channel_id) ?? 0, frame.seq));
          if (frame.kind === "message.created" && mine && frame.actor !== mine.id) {
            const m = (frame.payload as { message: { mentions: { principal_ids: string[]; all: boolean } } }).message;
            const viewing = activeRef.current === frame.channel_id && document.visibilityState === "visible";
            if (!viewing) {
              setUnread((u) => ({ ...u, [frame.channel_id]: (u[frame.channel_id] ?? 0) + 1 }));
              if (m.mentions.principal_ids.includes(mine.id) || m.mentions.all)
                setMentions((c) => ({ ...c, [frame.channel_id]: (c[frame.channel_id] ?? 0) + 1 }));
            }
          }
          if (frame.kind === "message.created" || frame.kind === "message.delta") {
            // Whoever wrote stopped typing.
            setTyping((t) => {
              const ch = t[frame.channel_id];
              if (!ch?.[frame.actor]) return t;
              const rest = { ...ch };
              delete rest[frame.actor];
              return { ...t, [frame.channel_id]: rest };
            });
          }
          if (["member.joined", "member.left", "channel.updated"].includes(frame.kind)) refreshSoon();
          if (frame.kind === "agent.status") {
            const p = frame.payload as { principal_id: string; text: string | null };
            setAgentStatus((s) => ({ ...s, [p.principal_id]: { text: p.text ?? "", channel_id: frame.channel_id } }));
          }
          break;
        }
        case "subscribed":
        case "unsubscribed":
          refreshSoon();
          break;
        case "typing":
          if (frame.principal_id !== meRef.current?.id)
            setTyping((t) => ({
              ...t,
              [frame.channel_id]: { ...(t[frame.channel_id] ?? {}), [frame.principal_id]: Date.now() + 6000 },
            }));
          break;
        case "presence":
          setPresence((p) => ({ ...p, [frame.principal_id]: frame.status }));
          break;
      }
    },
    [refreshSoon],
  );

  // The socket starts once the tree is in, from the tree's seqs (at most what
  // one hello frame holds; beyond that the server's cursors decide).
  const treeLoaded = tree !== null;
  useEffect(() => {
    const token = localStorage.getItem("octo.token");
    if (!me || !token || !treeLoaded) return;
    const rt = new Realtime(token, onFrame, setConnected, { ...startAt.current, ...Object.fromEntries(latestSeq.current) });
    realtime.current = rt;
    rt.start();
    return () => rt.stop();
  }, [me, onFrame, treeLoaded]);

  // Presence follows whether the tab is being looked at.
  useEffect(() => {
    const onVisibility = () =>
      realtime.current?.send({ type: "presence", status: document.visibilityState === "visible" ? "online" : "away" });
    document.addEventListener("visibilitychange", onVisibility);
    return () => document.removeEventListener("visibilitychange", onVisibility);
  }, []);

  // Typing indicators fade on their own.
  useEffect(() => {
    const timer = window.setInterval(() => {
      const now = Date.now();
      setTyping((t) => {
        let changed = false;
        const next: typeof t = {};
        for (const [ch, who] of Object.entries(t)) {
          const live = Object.entries(who).filter(([, until]) => until > now);
          if (live.length !== Object.keys(who).length) changed = true;
          next[ch] = Object.fromEntries(live);
        }
        return changed ? next : t;
      });
    }, 1000);
    return () => window.clearInterval(timer);
  }, []);

  const open = useCallback((channelId: string | null) => {
    setActive(channelId);
    setPage("chat");
    setNavOpen(false);
    history.pushState(null, "", channelId ? `/c/${encodeURIComponent(channelId)}` : "/");
  }, []);

  useEffect(() => {
    const onPop = () => {
      setActive(routeChannel());
      setPage(location.pathname.startsWith("/admin") ? "admin" : "chat");
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const channels = useMemo(() => allChannels(tree), [tree]);
  // Land somewhere useful: the first channel when none is chosen.
  useEffect(() => {
    if (!active && page === "chat" && channels.length > 0) open(channels[0].channel.id);
  }, [active, channels, open, page]);

  // Keyboard: Alt+↑/↓ moves between channels.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
      const at = channels.findIndex((c) => c.channel.id === activeRef.current);
      const next = channels[at + (e.key === "ArrowUp" ? -1 : 1)];
      if (next) {
        e.preventDefault();
        open(next.channel.id);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [channels, open]);

  // The server lets a read cursor move back (to mark unread), so cursor writes
  // go one at a time per channel, only forward, and a burst sends only its last.
  const cursors = useRef(new Map<string, { sent: number; want: number; busy: boolean }>());
  const markRead = useCallback((channelId: string, seq: number, member: boolean) => {
    readUpTo.current.set(channelId, Math.max(readUpTo.current.get(channelId) ?? 0, seq));
    setUnread((u) => (u[channelId] ? { ...u, [channelId]: 0 } : u));
    setMentions((m) => (m[channelId] ? { ...m, [channelId]: 0 } : m));
    if (!member) return;
    const state = cursors.current.get(channelId) ?? { sent: 0, want: 0, busy: false };
    cursors.current.set(channelId, state);
    state.want = Math.max(state.want, seq);
    const flush = async () => {
      if (state.busy || state.want <= state.sent) return;
      state.busy = true;
      const target = state.want;
      await put(`/channels/${channelId}/cursor`, { seq: target }).catch(() => undefined);
      state.sent = target;
      state.busy = false;
      void flush();
    };
    void flush();
  }, []);

  const subscribe = useCallback((l: Listener) => {
    listeners.current.add(l);
    return () => void listeners.current.delete(l);
  }, []);

  if (!me || !org || !tree) return <div className="loading">Loading…</div>;

  const session: Session = {
    me,
    org,
    people,
    presence,
    caps,
    send: (frame) => realtime.current?.send(frame),
    openProfile: setProfile,
  };
  const current = channels.find((c) => c.channel.id === active) ?? null;

  const ask = (title: string, fields: Field[], submit: (v: Record<string, string>) => Promise<void>) =>
    setDialog({ title, fields, submit });

  const actions = {
    createSpace: () =>
      ask("New space", [{ name: "name", label: "Name" }, { name: "visibility", label: "Visibility", options: ["open", "private"] }], async (v) => {
        await post(`/orgs/${org.id}/spaces`, { name: v.name, visibility: v.visibility });
        await loadTree(org.id);
      }),
    createCategory: (spaceId: string) =>
      ask("New category", [{ name: "name", label: "Name" }], async (v) => {
        await post(`/spaces/${spaceId}/categories`, { name: v.name });
        await loadTree(org.id);
      }),
    createChannel: (spaceId: string, categoryId: string | null) =>
      ask(
        "New channel",
        [
          { name: "name", label: "Name" },
          { name: "topic", label: "Topic (optional)", optional: true },
          { name: "private", label: "Private", checkbox: true },
        ],
        async (v) => {
          const ch = await post<{ id: string }>(`/spaces/${spaceId}/channels`, {
            name: v.name,
            topic: v.topic || null,
            category_id: categoryId,
            private: v.private === "on",
          });
          await loadTree(org.id);
          open(ch.id);
        },
      ),
    createDm: () =>
      ask(
        "New direct message",
        [{ name: "who", label: "With (handles, comma separated)", list: [...people.values()].filter((p) => p.id !== me.id).map((p) => p.name) }],
        async (v) => {
          const names = v.who.split(/[\s,]+/).map((n) => n.replace(/^@/, "")).filter(Boolean);
          const ids = names.map((n) => [...people.values()].find((p) => p.name === n)?.id);
          if (ids.some((id) => !id)) throw new Error(`unknown: ${names.filter((_, i) => !ids[i]).join(", ")}`);
          const ch = await post<{ id: string }>(`/orgs/${org.id}/dms`, { principal_ids: ids });
          await loadTree(org.id);
          open(ch.id);
        },
      ),
  };

  const isAdmin = me.role === "owner" || me.role === "admin";

  return (
    <div className={`app ${navOpen ? "nav-open" : ""}`}>
      <Sidebar
        session={session}
        tree={tree}
        active={active}
        unread={unread}
        mentions={mentions}
        dmMembers={dmMembers}
        connected={connected}
        onOpen={open}
        actions={actions}
        isAdmin={isAdmin}
        onAdmin={() => {
          setPage("admin");
          setNavOpen(false);
          history.pushState(null, "", "/admin");
        }}
        onLogout={async () => {
          await post("/auth/logout").catch(() => undefined);
          saveToken(null);
          onLogout();
        }}
      />
      <button className="nav-toggle" aria-label="Channels" onClick={() => setNavOpen((o) => !o)}>
        ☰
      </button>
      {page === "admin" && isAdmin ? (
        <Admin session={session} />
      ) : current ? (
        <ChannelView
          key={current.channel.id}
          session={session}
          entry={current}
          title={channelTitle(current.channel, people, me.id, dmMembers[current.channel.id])}
          typing={typing[current.channel.id] ?? {}}
          knownSeq={Math.max(current.channel.last_seq, latestSeq.current.get(current.channel.id) ?? 0)}
          readSeq={readUpTo.current.get(current.channel.id) ?? current.channel.last_seq - current.unread}
          subscribe={subscribe}
          markRead={markRead}
        />
      ) : (
        <main className="empty">
          <p>No channel yet. Create a space, then a channel, from the sidebar.</p>
        </main>
      )}
      {dialog && <Dialog {...dialog} onClose={() => setDialog(null)} />}
      {profile && (
        <AgentProfile
          key={profile}
          session={session}
          agentId={profile}
          status={agentStatus[profile]}
          channelName={(id) => {
            const c = channels.find((x) => x.channel.id === id);
            return c ? channelTitle(c.channel, people, me.id, dmMembers[id]) : "a channel";
          }}
          onOpenChannel={open}
          onClose={() => setProfile(null)}
        />
      )}
    </div>
  );
}
