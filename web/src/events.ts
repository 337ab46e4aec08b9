// Applying one channel event to the loaded messages: pure functions, so the
// same event applies the same way to the channel list and a thread.

import type { Message, OctoEvent, Reaction } from "./types";

type P = Record<string, unknown>;

function patchMessage(list: Message[], id: string, change: (m: Message) => Message): Message[] {
  const at = list.findIndex((m) => m.id === id);
  if (at < 0) return list;
  const next = list.slice();
  next[at] = change(list[at]);
  return next;
}

function react(reactions: Reaction[], emoji: string, who: string, add: boolean): Reaction[] {
  const found = reactions.find((r) => r.emoji === emoji);
  if (add) {
    if (found?.principal_ids.includes(who)) return reactions;
    if (!found) return [...reactions, { emoji, count: 1, principal_ids: [who] }];
    return reactions.map((r) =>
      r.emoji === emoji ? { ...r, count: r.count + 1, principal_ids: [...r.principal_ids, who] } : r,
    );
  }
  if (!found?.principal_ids.includes(who)) return reactions;
  return reactions
    .map((r) =>
      r.emoji === emoji ? { ...r, count: r.count - 1, principal_ids: r.principal_ids.filter((p) => p !== who) } : r,
    )
    .filter((r) => r.count > 0);
}

/// `list` is one timeline: a channel's top level or one thread (`threadId`).
export function applyEvent(list: Message[], ev: OctoEvent, threadId: string | null): Message[] {
  const p = ev.payload as P;
  const id = p.message_id as string;
  switch (ev.kind) {
    case "message.created": {
      const m = p.message as Message;
      // A reply counts on its root in the channel list.
      // A replayed event (reconnect, resume from the server-side cursor) must
      // not count again: only a reply newer than the root's last one counts.
      if (threadId === null && m.thread_id)
        return patchMessage(list, m.thread_id, (root) =>
          root.last_reply_at && Date.parse(m.created_at) <= Date.parse(root.last_reply_at)
            ? root
            : { ...root, reply_count: root.reply_count + 1, last_reply_at: m.created_at },
        );
      const belongs = threadId === null ? !m.thread_id : m.thread_id === threadId || m.id === threadId;
      if (!belongs || list.some((x) => x.id === m.id)) return list;
      return [...list, m];
    }
    case "message.edited":
      return patchMessage(list, id, (m) => ({ ...m, text: p.text as string, edited_at: p.edited_at as string }));
    case "message.deleted":
      return patchMessage(list, id, (m) => ({ ...m, deleted: true, text: "", reactions: [] }));
    case "message.delta":
      return patchMessage(list, id, (m) => ({ ...m, text: m.text + (p.delta as string) }));
    case "message.finished":
      return patchMessage(list, id, (m) => ({
        ...m,
        text: p.text as string,
        stream: (p.stream as Message["stream"]) ?? "done",
      }));
    case "reaction.added":
    case "reaction.removed":
      return patchMessage(list, id, (m) => ({
        ...m,
        reactions: react(m.reactions, p.emoji as string, p.principal_id as string, ev.kind === "reaction.added"),
      }));
    default:
      return list;
  }
}
