// Talking to the server. Every number on the page comes from these calls; nothing is computed here.

export class ApiError extends Error {}

async function handle(response) {
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!response.ok) {
    const detail = body && body.detail ? body.detail : `${response.status} ${response.statusText}`;
    throw new ApiError(detail);
  }
  return body;
}

export async function get(path) {
  return handle(await fetch(path, { headers: { Accept: "application/json" } }));
}

export async function post(path, body) {
  return handle(await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
  }));
}

export async function upload(path, file) {
  const form = new FormData();
  form.append("file", file, file.name);
  return handle(await fetch(path, { method: "POST", body: form }));
}

// {"shape", "dtype": "float32", "base64"} -> {shape, data: Float32Array}: the server's exact numbers.
export function unpack(packed) {
  if (!packed) return null;
  const bytes = Uint8Array.from(atob(packed.base64), (c) => c.charCodeAt(0));
  return { shape: packed.shape, data: new Float32Array(bytes.buffer) };
}

export function readAsDataURL(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new ApiError(`${file.name}: cannot read the file`));
    reader.readAsDataURL(file);
  });
}
