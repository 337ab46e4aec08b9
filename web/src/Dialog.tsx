// A small modal form: the create-space/category/channel/DM dialogs.

import { useState, type FormEvent } from "react";

export interface Field {
  name: string;
  label: string;
  optional?: boolean;
  checkbox?: boolean;
  options?: string[];
  list?: string[];
}

export function Dialog(props: {
  title: string;
  fields: Field[];
  submit: (values: Record<string, string>) => Promise<void>;
  onClose: () => void;
}) {
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const values = Object.fromEntries(new FormData(e.currentTarget)) as Record<string, string>;
    try {
      await props.submit(values);
      props.onClose();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  }

  return (
    <div className="backdrop" onClick={props.onClose} onKeyDown={(e) => e.key === "Escape" && props.onClose()}>
      <form className="dialog" role="dialog" aria-label={props.title} onSubmit={onSubmit} onClick={(e) => e.stopPropagation()}>
        <h2>{props.title}</h2>
        {props.fields.map((f, i) => (
          <label key={f.name} className={f.checkbox ? "check" : undefined}>
            {f.checkbox ? (
              <>
                <input type="checkbox" name={f.name} /> {f.label}
              </>
            ) : (
              <>
                {f.label}
                {f.options ? (
                  <select name={f.name}>
                    {f.options.map((o) => (
                      <option key={o}>{o}</option>
                    ))}
                  </select>
                ) : (
                  <input name={f.name} required={!f.optional} autoFocus={i === 0} list={f.list ? `${f.name}-list` : undefined} />
                )}
                {f.list && (
                  <datalist id={`${f.name}-list`}>
                    {f.list.map((o) => (
                      <option key={o} value={o} />
                    ))}
                  </datalist>
                )}
              </>
            )}
          </label>
        ))}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit">Create</button>
        </div>
      </form>
    </div>
  );
}
