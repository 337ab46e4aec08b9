// Permission overrides of a space, category or channel, edited as the JSON the
// API takes (`{"overrides": [...]}`); the server validates and says what's wrong.

import { useEffect, useState } from "react";
import { get, put } from "./api";
import { treeFromServer, type Tree } from "./types";

export function OverridesEditor({ orgId }: { orgId: string }) {
  const [tree, setTree] = useState<Tree | null>(null);
  const [target, setTarget] = useState("");
  // Null while the current overrides load; the editor shows only after.
  const [text, setText] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  useEffect(() => {
    get<unknown>(`/orgs/${orgId}/tree`).then((raw) => setTree(treeFromServer(raw)), () => undefined);
  }, [orgId]);

  useEffect(() => {
    setText(null);
    if (!target) return;
    setNote(null);
    get<{ overrides: unknown[] }>(`/${target}/overrides`).then(
      (o) => setText(JSON.stringify(o.overrides, null, 2)),
      (e) => setNote(String(e.message ?? e)),
    );
  }, [target]);

  const save = async () => {
    try {
      const overrides = JSON.parse(text ?? "");
      await put(`/${target}/overrides`, { overrides });
      setNote("saved");
    } catch (e) {
      setNote(e instanceof Error ? e.message : String(e));
    }
  };

  const options: [string, string][] = [];
  for (const s of tree?.spaces ?? []) {
    options.push([`spaces/${s.space.id}`, s.space.name]);
    for (const c of s.categories) {
      options.push([`categories/${c.category.id}`, `${s.space.name} / ${c.category.name}`]);
      for (const ch of c.channels) options.push([`channels/${ch.channel.id}`, `${s.space.name} / #${ch.channel.name}`]);
    }
    for (const ch of s.channels) options.push([`channels/${ch.channel.id}`, `${s.space.name} / #${ch.channel.name}`]);
  }

  return (
    <div className="overrides">
      <select value={target} onChange={(e) => setTarget(e.target.value)} aria-label="Overrides of">
        <option value="">Choose a space, category or channel…</option>
        {options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      {target && text !== null && (
        <>
          <textarea value={text} onChange={(e) => setText(e.target.value)} rows={12} aria-label="Overrides JSON" />
          <button onClick={save}>Save overrides</button>
        </>
      )}
      {note && <p role="status">{note}</p>}
    </div>
  );
}
