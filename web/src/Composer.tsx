// The message box: Enter sends, Shift+Enter is a new line, @ opens a list of
// people and agents to mention, files attach through the files API, the mic
// (when the server has voice) fills the box from speech.

import { useRef, useState, type KeyboardEvent } from "react";
import { api, post } from "./api";
import type { Session } from "./Chat";
import type { Principal } from "./types";
import { MicButtons, VoiceResult, useVoice } from "./Voice";

interface Props {
  session: Session;
  channelId: string;
  threadId: string | null;
  placeholder: string;
}

export function Composer({ session, channelId, threadId, placeholder }: Props) {
  const [text, setText] = useState("");
  const [files, setFiles] = useState<{ id: string; name: string }[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [pick, setPick] = useState(0);
  const box = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const voice = useVoice(channelId, text, setText);

  // The word being typed, when it starts with @.
  const caret = box.current?.selectionStart ?? text.length;
  const word = /@([A-Za-z0-9._-]*)$/.exec(text.slice(0, caret));
  const matches: Principal[] = word
    ? [...session.people.values()]
        .filter((p) => !p.deactivated && p.id !== session.me.id && p.name.toLowerCase().startsWith(word[1].toLowerCase()))
        .slice(0, 8)
    : [];

  const complete = (p: Principal) => {
    if (!word) return;
    const start = caret - word[0].length;
    const next = `${text.slice(0, start)}@${p.name} ${text.slice(caret)}`;
    setText(next);
    setPick(0);
    requestAnimationFrame(() => {
      const at = start + p.name.length + 2;
      box.current?.setSelectionRange(at, at);
      box.current?.focus();
    });
  };

  const send = async () => {
    const body = text.trim();
    if (!body) return;
    setError(null);
    try {
      await post(`/channels/${channelId}/messages`, {
        text: body,
        thread_id: threadId,
        client_msg_id: crypto.randomUUID(),
        attachments: files.length ? files.map((f) => f.id) : undefined,
      });
      setText("");
      setFiles([]);
      voice.dismiss();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (matches.length > 0) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        setPick((p) => (p + (e.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        complete(matches[Math.min(pick, matches.length - 1)]);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
      return;
    }
    const now = Date.now();
    if (now - lastTyping.current > 3000) {
      lastTyping.current = now;
      session.send({ type: "typing", channel_id: channelId, thread_id: threadId });
    }
  };

  const attach = async (list: FileList | null) => {
    for (const file of Array.from(list ?? [])) {
      try {
        const up = await api<{ id: string }>("POST", `/channels/${channelId}/files?name=${encodeURIComponent(file.name)}`, file);
        setFiles((f) => [...f, { id: up.id, name: file.name }]);
      } catch (err) {
        setError(err instanceof Error ? err.message : String(err));
      }
    }
  };

  return (
    <div className="composer">
      {matches.length > 0 && (
        <ul className="autocomplete" role="listbox" aria-label="Mention">
          {matches.map((p, i) => (
            <li key={p.id} role="option" aria-selected={i === pick} onMouseDown={(e) => (e.preventDefault(), complete(p))}>
              @{p.name} {p.kind === "agent" && <span className="agent-tag">agent</span>}
              {p.display_name && <span className="muted"> {p.display_name}</span>}
            </li>
          ))}
        </ul>
      )}
      {files.length > 0 && (
        <div className="pending-files">
          {files.map((f) => (
            <span key={f.id}>📎 {f.name}</span>
          ))}
        </div>
      )}
      {session.caps.features.voice && <VoiceResult voice={voice} />}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="row">
        {session.caps.features.files && (
          <label className="attach" title="Attach a file">
            📎
            <input type="file" multiple hidden onChange={(e) => void attach(e.target.files)} />
          </label>
        )}
        {session.caps.features.voice && (
          <MicButtons voice={voice} />
        )}
        <textarea
          ref={box}
          rows={1}
          value={text}
          placeholder={placeholder}
          aria-label={placeholder}
          onChange={(e) => {
            setText(e.target.value);
            setPick(0);
          }}
          onKeyDown={onKey}
        />
        <button className="send" onClick={() => void send()} disabled={!text.trim()}>
          Send
        </button>
      </div>
    </div>
  );
}
