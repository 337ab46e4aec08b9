// One message: author (agents marked), Markdown body, live stream cursor,
// attachments, reactions, and actions (react, reply in thread, edit/delete own).

import { useState } from "react";
import { del, patch, put } from "./api";
import type { Session } from "./Chat";
import { Markdown } from "./markdown";
import type { Message } from "./types";

const QUICK = ["👍", "❤️", "🎉", "👀"];

export function MessageItem({ session, message, onThread }: { session: Session; message: Message; onThread?: () => void }) {
  const [editing, setEditing] = useState(false);
  const author = session.people.get(message.author_id);
  const mine = message.author_id === session.me.id;
  const mentionsMe = message.mentions.principal_ids.includes(session.me.id) || message.mentions.all;
  const time = new Date(message.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

  const toggle = (emoji: string) => {
    const had = message.reactions.find((r) => r.emoji === emoji)?.principal_ids.includes(session.me.id);
    const path = `/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`;
    void (had ? del(path) : put(path)).catch(() => undefined);
  };

  if (message.deleted)
    return (
      <article className="message deleted" data-id={message.id}>
        <em>message deleted</em>
      </article>
    );

  return (
    <article
      className={`message ${mentionsMe ? "mentions-me" : ""} ${message.stream === "open" ? "streaming" : ""}`}
      data-id={message.id}
      data-author={author?.name}
    >
      <header>
        {author?.kind === "agent" ? (
          <button className="author" aria-label={`Profile of @${author.name}`} onClick={() => session.openProfile(author.id)}>
            {author.display_name || author.name}
          </button>
        ) : (
          <strong className="author">{author?.display_name || author?.name || "someone"}</strong>
        )}
        {author?.kind === "agent" && <span className="agent-tag">agent</span>}
        <time dateTime={message.created_at}>{time}</time>
        {message.edited_at && <span className="edited">(edited)</span>}
        {message.stream === "interrupted" && <span className="edited">(interrupted)</span>}
      </header>
      {editing ? (
        <form
          className="edit"
          onSubmit={async (e) => {
            e.preventDefault();
            const text = String(new FormData(e.currentTarget).get("text") ?? "").trim();
            if (text) await patch(`/messages/${message.id}`, { text }).catch(() => undefined);
            setEditing(false);
          }}
        >
          <textarea name="text" defaultValue={message.text} autoFocus aria-label="Edit message" />
          <button type="submit">Save</button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <div className="body">
          <Markdown text={message.text} me={session.me.name} />
          {message.stream === "open" && <span className="cursor" aria-label="writing" />}
        </div>
      )}
      {message.attachments.length > 0 && (
        <ul className="attachments">
          {message.attachments.map((a) => (
            <li key={a.id}>
              {a.content_type.startsWith("image/") ? (
                <img src={`/api/v1/files/${a.id}`} alt={a.name} loading="lazy" />
              ) : (
                <span>📎 {a.name}</span>
              )}
            </li>
          ))}
        </ul>
      )}
      <footer>
        {message.reactions.map((r) => (
          <button
            key={r.emoji}
            className={`reaction ${r.principal_ids.includes(session.me.id) ? "mine" : ""}`}
            onClick={() => toggle(r.emoji)}
            aria-label={`${r.emoji} ${r.count}`}
          >
            {r.emoji} {r.count}
          </button>
        ))}
        {onThread && message.reply_count > 0 && (
          <button className="link replies" onClick={onThread}>
            {message.reply_count} {message.reply_count === 1 ? "reply" : "replies"}
          </button>
        )}
      </footer>
      <div className="actions" role="toolbar" aria-label="Message actions">
        {QUICK.map((e) => (
          <button key={e} onClick={() => toggle(e)} aria-label={`React ${e}`}>
            {e}
          </button>
        ))}
        {onThread && (
          <button onClick={onThread} aria-label="Reply in thread">
            💬
          </button>
        )}
        {mine && (
          <>
            <button onClick={() => setEditing(true)} aria-label="Edit">
              ✎
            </button>
            <button onClick={() => void del(`/messages/${message.id}`).catch(() => undefined)} aria-label="Delete">
              🗑
            </button>
          </>
        )}
      </div>
    </article>
  );
}
