// A small Markdown renderer that builds React elements directly: raw HTML in a
// message is shown as text, never parsed, so nothing a member writes can run.
// Links only to http(s) and mailto; @mentions highlighted (yours more so).

import type { ReactNode } from "react";

const SAFE_URL = /^(https?:|mailto:)/i;
const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(~~[^~\n]+~~)|(\*[^*\n]+\*|_[^_\n]+_)|(\[[^\]\n]+\]\([^)\s]+\))|(https?:\/\/[^\s<>)]+)|(@[A-Za-z0-9._-]+)/g;

export function Markdown({ text, me }: { text: string; me: string }) {
  return <div className="md">{blocks(text, me)}</div>;
}

function blocks(text: string, me: string): ReactNode[] {
  const out: ReactNode[] = [];
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const code: string[] = [];
      i++;
      while (i < lines.length && !lines[i].startsWith("```")) code.push(lines[i++]);
      i++;
      out.push(
        <pre key={out.length}>
          <code>{code.join("\n")}</code>
        </pre>,
      );
    } else if (/^\s*[-*] /.test(line)) {
      const items: string[] = [];
      while (i < lines.length && /^\s*[-*] /.test(lines[i])) items.push(lines[i++].replace(/^\s*[-*] /, ""));
      out.push(
        <ul key={out.length}>
          {items.map((it, n) => (
            <li key={n}>{inline(it, me)}</li>
          ))}
        </ul>,
      );
    } else if (line.startsWith(">")) {
      const quoted: string[] = [];
      while (i < lines.length && lines[i].startsWith(">")) quoted.push(lines[i++].replace(/^> ?/, ""));
      out.push(<blockquote key={out.length}>{blocks(quoted.join("\n"), me)}</blockquote>);
    } else if (line.trim() === "") {
      i++;
    } else {
      const para: string[] = [];
      while (
        i < lines.length &&
        lines[i].trim() !== "" &&
        !lines[i].startsWith("```") &&
        !lines[i].startsWith(">") &&
        !/^\s*[-*] /.test(lines[i])
      )
        para.push(lines[i++]);
      out.push(
        <p key={out.length}>
          {para.flatMap((l, n) => (n === 0 ? inline(l, me) : [<br key={`br${n}`} />, ...inline(l, me)]))}
        </p>,
      );
    }
  }
  return out;
}

function inline(text: string, me: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const token = m[0];
    const key = `${at}`;
    if (m[1]) out.push(<code key={key}>{token.slice(1, -1)}</code>);
    else if (m[2]) out.push(<strong key={key}>{inline(token.slice(2, -2), me)}</strong>);
    else if (m[3]) out.push(<del key={key}>{inline(token.slice(2, -2), me)}</del>);
    else if (m[4]) out.push(<em key={key}>{inline(token.slice(1, -1), me)}</em>);
    else if (m[5]) {
      const split = token.indexOf("](");
      const label = token.slice(1, split);
      const href = token.slice(split + 2, -1);
      out.push(
        SAFE_URL.test(href) ? (
          <a key={key} href={href} target="_blank" rel="noopener noreferrer">
            {label}
          </a>
        ) : (
          token
        ),
      );
    } else if (m[6])
      out.push(
        <a key={key} href={token} target="_blank" rel="noopener noreferrer">
          {token}
        </a>,
      );
    else if (m[7]) {
      const name = token.slice(1);
      const mine = name === me || name === "all" || name === "here";
      out.push(
        <span key={key} className={mine ? "mention mention-me" : "mention"}>
          {token}
        </span>,
      );
    }
    last = at + token.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
