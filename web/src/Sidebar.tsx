// Spaces → categories → channels, then DMs, with unread counts, mention
// badges, presence dots and agent marks.

import type { Session } from "./Chat";
import { channelTitle } from "./Chat";
import type { Tree, TreeChannel } from "./types";
import { toggleTheme } from "./theme";

interface Props {
  session: Session;
  tree: Tree;
  active: string | null;
  unread: Record<string, number>;
  mentions: Record<string, number>;
  dmMembers: Record<string, string[]>;
  connected: boolean;
  isAdmin: boolean;
  onOpen: (id: string) => void;
  onAdmin: () => void;
  onLogout: () => void;
  actions: {
    createSpace: () => void;
    createCategory: (spaceId: string) => void;
    createChannel: (spaceId: string, categoryId: string | null) => void;
    createDm: () => void;
  };
}

export function PresenceDot({ session, id }: { session: Session; id: string }) {
  const status = session.presence[id] ?? "offline";
  return <span className={`dot ${status}`} title={status} aria-label={status} />;
}

export function Sidebar(props: Props) {
  const { session, tree, active, unread, mentions } = props;

  const item = (tc: TreeChannel) => {
    const id = tc.channel.id;
    const members = props.dmMembers[id] ?? [];
    const other = members.find((m) => m !== session.me.id);
    const person = other ? session.people.get(other) : undefined;
    const count = unread[id] ?? 0;
    const profile = tc.channel.kind === "dm" && person?.kind === "agent" ? person : undefined;
    return (
      <li key={id} className={profile ? "dm-row" : undefined}>
        <button
          className={`channel ${id === active ? "active" : ""} ${count > 0 ? "has-unread" : ""}`}
          data-channel={tc.channel.name ?? id}
          onClick={() => props.onOpen(id)}
        >
          {tc.channel.kind !== "channel" && other && <PresenceDot session={session} id={other} />}
          {tc.channel.private && tc.channel.kind === "channel" && <span aria-label="private">🔒</span>}
          <span className="name">{channelTitle(tc.channel, session.people, session.me.id, members)}</span>
          {person?.kind === "agent" && !profile && <span className="agent-tag">agent</span>}
          {(mentions[id] ?? 0) > 0 && (
            <span className="badge mention-badge" aria-label="mentions">
              @{mentions[id]}
            </span>
          )}
          {count > 0 && (
            <span className="badge" aria-label="unread">
              {count}
            </span>
          )}
        </button>
        {profile && (
          <button className="agent-tag" aria-label={`Profile of @${profile.name}`} title="Profile" onClick={() => session.openProfile(profile.id)}>
            agent
          </button>
        )}
      </li>
    );
  };

  return (
    <nav className="sidebar" aria-label="Channels">
      <header>
        <strong>{tree.org.name}</strong>
        <span className={`conn ${props.connected ? "on" : "off"}`} title={props.connected ? "connected" : "reconnecting"} />
      </header>
      <div className="scroll">
        {tree.spaces.map((s) => (
          <section key={s.space.id} className="space">
            <h3>
              {s.space.name}
              <span className="tools">
                <button title="New category" aria-label={`New category in ${s.space.name}`} onClick={() => props.actions.createCategory(s.space.id)}>
                  ▤
                </button>
                <button title="New channel" aria-label={`New channel in ${s.space.name}`} onClick={() => props.actions.createChannel(s.space.id, null)}>
                  +
                </button>
              </span>
            </h3>
            <ul>{s.channels.map(item)}</ul>
            {s.categories.map((c) => (
              <div key={c.category.id} className="category">
                <h4>
                  {c.category.name}
                  <button title="New channel" aria-label={`New channel in ${c.category.name}`} onClick={() => props.actions.createChannel(s.space.id, c.category.id)}>
                    +
                  </button>
                </h4>
                <ul>{c.channels.map(item)}</ul>
              </div>
            ))}
          </section>
        ))}
        <button className="link" onClick={props.actions.createSpace}>
          + New space
        </button>
        <section className="space">
          <h3>
            Direct messages
            <span className="tools">
              <button title="New DM" aria-label="New direct message" onClick={props.actions.createDm}>
                +
              </button>
            </span>
          </h3>
          <ul>{tree.dms.map(item)}</ul>
        </section>
      </div>
      <footer>
        <PresenceDot session={session} id={session.me.id} />
        <span className="me">@{session.me.name}</span>
        <button title="Light / dark" aria-label="Toggle theme" onClick={toggleTheme}>
          ◐
        </button>
        {props.isAdmin && (
          <button title="Admin" onClick={props.onAdmin}>
            ⚙
          </button>
        )}
        <button title="Log out" onClick={props.onLogout}>
          ⎋
        </button>
      </footer>
    </nav>
  );
}
