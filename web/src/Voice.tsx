// Voice input for the composer: the mic records a WAV (or the user picks an
// audio file), /transcribe turns it into corrected text for the composer, and
// each correction is a chip whose undo puts the heard words back at its span.

import { useRef, useState } from "react";
import { api } from "./api";
import { startRecording, type Recording } from "./wav";

interface Correction {
  start: number;
  end: number;
  before: string;
  after: string;
  reason: string;
}

interface Transcript {
  raw: string;
  text: string;
  corrections: Correction[];
  engine: string;
  ms: number;
}

/** A correction as it stands in the composer now (spans move as chips are undone). */
interface Chip extends Correction {
  undone: boolean;
}

/** Offsets from the server count characters (code points), not UTF-16 units. */
function undoIn(text: string, chip: Chip): { text: string; shift: number } | null {
  const chars = Array.from(text);
  if (chars.slice(chip.start, chip.end).join("") === chip.after) {
    const next = [...chars.slice(0, chip.start), chip.before, ...chars.slice(chip.end)].join("");
    return { text: next, shift: Array.from(chip.before).length - (chip.end - chip.start) };
  }
  // The user edited around it: undo the first place the correction still reads.
  const at = text.indexOf(chip.after);
  if (at < 0) return null;
  return { text: text.slice(0, at) + chip.before + text.slice(at + chip.after.length), shift: 0 };
}

export function useVoice(channelId: string, text: string, setText: (t: string) => void) {
  const [recording, setRecording] = useState<Recording | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ raw: string; text: string; engine: string; ms: number } | null>(null);
  const [chips, setChips] = useState<Chip[]>([]);
  const [error, setError] = useState<string | null>(null);
  const textRef = useRef(text);
  textRef.current = text;

  const transcribe = async (wav: Blob) => {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const t = await api<Transcript>("POST", `/channels/${channelId}/transcribe`, wav);
      setResult({ raw: t.raw, text: t.text, engine: t.engine, ms: t.ms });
      setChips(t.corrections.map((c) => ({ ...c, undone: false })));
      setText(t.text);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const toggleMic = async () => {
    if (recording) {
      setRecording(null);
      await transcribe(await recording.stop());
      return;
    }
    setError(null);
    try {
      setRecording(await startRecording());
    } catch (e) {
      setError(`No microphone: ${e instanceof Error ? e.message : String(e)}. You can upload an audio file instead.`);
    }
  };

  const undo = (i: number) => {
    const chip = chips[i];
    if (chip.undone) return;
    const done = undoIn(textRef.current, chip);
    if (!done) return;
    setText(done.text);
    setChips((all) =>
      all.map((c, j) =>
        j === i ? { ...c, undone: true } : c.start >= chip.end ? { ...c, start: c.start + done.shift, end: c.end + done.shift } : c,
      ),
    );
  };

  const dismiss = () => {
    setResult(null);
    setChips([]);
    setError(null);
  };

  return { recording: recording !== null, busy, result, chips, error, toggleMic, transcribe, undo, dismiss };
}

export type VoiceState = ReturnType<typeof useVoice>;

export function MicButtons({ voice }: { voice: VoiceState }) {
  return (
    <>
      <button
        className={voice.recording ? "mic recording" : "mic"}
        title={voice.recording ? "Stop and transcribe" : "Voice input"}
        aria-label={voice.recording ? "Stop recording" : "Voice input"}
        aria-pressed={voice.recording}
        disabled={voice.busy}
        onClick={() => void voice.toggleMic()}
      >
        {voice.recording ? "⏹" : "🎤"}
      </button>
      <label className="attach" title="Transcribe an audio file (WAV)">
        🔊
        <input
          type="file"
          accept="audio/wav,audio/x-wav,.wav"
          hidden
          aria-label="Upload audio file"
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = "";
            if (f) void voice.transcribe(f);
          }}
        />
      </label>
    </>
  );
}

export function VoiceResult({ voice }: { voice: VoiceState }) {
  if (voice.busy) return <p className="voice-result muted" role="status">Transcribing…</p>;
  if (voice.error)
    return (
      <div className="voice-result" role="alert">
        <span className="error">Voice input failed: {voice.error}</span>
        <button className="link" onClick={voice.dismiss}>
          Dismiss
        </button>
      </div>
    );
  if (!voice.result) return null;
  return (
    <div className="voice-result" aria-label="Transcript">
      <div>
        <span className="muted">Heard:</span> <span data-testid="voice-raw">{voice.result.raw || "(nothing)"}</span>
      </div>
      <div>
        <span className="muted">Corrected:</span> <span data-testid="voice-text">{voice.result.text || "(nothing)"}</span>{" "}
        <span className="muted small">
          {voice.result.engine}, {voice.result.ms} ms
        </span>
      </div>
      {voice.chips.length > 0 && (
        <div className="chips">
          {voice.chips.map((c, i) => (
            <button
              key={i}
              className={c.undone ? "chip undone" : "chip"}
              title={`${c.reason}: undo puts “${c.before}” back`}
              disabled={c.undone}
              onClick={() => voice.undo(i)}
            >
              {c.before} → {c.after} ↶
            </button>
          ))}
        </div>
      )}
      <button className="link" onClick={voice.dismiss}>
        Dismiss
      </button>
    </div>
  );
}
