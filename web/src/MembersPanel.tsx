// Who is in the channel: role, presence, agents marked, and how far behind
// each one is (lag: events not yet read).

import { useEffect, useState } from "react";
import { get } from "./api";
import type { Session } from "./Chat";
import { PresenceDot } from "./Sidebar";

interface Entry {
  principal_id: string;
  trigger: string;
  lag: number;
}

export function MembersPanel({ session, channelId, onClose }: { session: Session; channelId: string; onClose: () => void }) {
  const [members, setMembers] = useState<Entry[] | null>(null);
  useEffect(() => {
    get<{ items: Entry[] }>(`/channels/${channelId}/members`).then((l) => setMembers(l.items), () => setMembers([]));
  }, [channelId]);
  return (
    <aside className="side members-panel" aria-label="Members">
      <header>
        <h3>Members</h3>
        <button aria-label="Close members" onClick={onClose}>
          ✕
        </button>
      </header>
      <ul>
        {(members ?? []).map((m) => {
          const p = session.people.get(m.principal_id);
          return (
            <li key={m.principal_id}>
              <PresenceDot session={session} id={m.principal_id} />
              {p?.kind === "agent" ? (
                <button className="author" aria-label={`Profile of @${p.name}`} onClick={() => session.openProfile(p.id)}>
                  {p.name}
                </button>
              ) : (
                <span className="name">{p?.name ?? m.principal_id}</span>
              )}
              {p?.kind === "agent" && <span className="agent-tag" title={`wakes on: ${m.trigger}`}>agent</span>}
              <span className="muted">{p?.role}</span>
              {m.lag > 0 && <span className="muted"> · {m.lag} behind</span>}
              {p?.kind === "agent" && p.description && <div className="muted small">{p.description}</div>}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
