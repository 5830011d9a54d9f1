// The server's limits, read from GET /api/auth/config at boot: forms take their maxlength from
// here, so the client never allows what the server refuses, nor refuses what it allows.
// The values below are only what a form uses if that request failed.
const limits = {
  display_name: 64,
  room_name: 120,
  room_description: 4000,
  thread_title: 200,
  post_body: 20000,
  chat_body: 4000,
  session_title: 120,
  report_reason: 1000,
  upload_bytes: 104857600,
};

export function setLimits(fromServer) {
  for (const [name, value] of Object.entries(fromServer || {})) {
    if (Number.isInteger(value)) limits[name] = value;
  }
}

export function limit(name) {
  return limits[name];
}
