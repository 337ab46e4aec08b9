// Recording the microphone into a 16-bit PCM mono WAV, the format the
// server's /transcribe decodes without any codec. Web Audio gives float
// samples at the device rate; the server resamples, so we keep the rate.

/** The longest clip recorded before it stops by itself. */
export const MAX_SECONDS = 30;

export interface Recording {
  stop: () => Promise<Blob>;
}

export async function startRecording(): Promise<Recording> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(stream);
  // ScriptProcessor is deprecated but needs no separate worklet file and
  // works in every browser that has getUserMedia.
  const node = ctx.createScriptProcessor(4096, 1, 1);
  const chunks: Float32Array[] = [];
  let length = 0;
  const limit = ctx.sampleRate * MAX_SECONDS;
  node.onaudioprocess = (e) => {
    if (length >= limit) return;
    const data = new Float32Array(e.inputBuffer.getChannelData(0));
    chunks.push(data);
    length += data.length;
  };
  source.connect(node);
  node.connect(ctx.destination);
  return {
    async stop() {
      source.disconnect();
      node.disconnect();
      stream.getTracks().forEach((t) => t.stop());
      const rate = ctx.sampleRate;
      await ctx.close();
      return encodeWav(chunks, Math.min(length, limit), rate);
    },
  };
}

export function encodeWav(chunks: Float32Array[], length: number, rate: number): Blob {
  const buf = new ArrayBuffer(44 + length * 2);
  const v = new DataView(buf);
  const text = (at: number, s: string) => [...s].forEach((c, i) => v.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  v.setUint32(4, 36 + length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  text(36, "data");
  v.setUint32(40, length * 2, true);
  let at = 44;
  let left = length;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length && left > 0; i++, left--, at += 2) {
      const s = Math.max(-1, Math.min(1, chunk[i]));
      v.setInt16(at, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
  }
  return new Blob([buf], { type: "audio/wav" });
}
