// Drives the emulator with Google's official Node.js client (@googleapis/calendar), unmodified: only rootUrl is
// set to the emulator's origin. Prints one JSON object with what each call returned; the C# test checks it.
import { calendar } from '@googleapis/calendar';
import { OAuth2Client } from 'google-auth-library';

const [rootUrl, accessToken] = process.argv.slice(2);
const auth = new OAuth2Client();
auth.setCredentials({ access_token: accessToken });
const cal = calendar({ version: 'v3', auth, rootUrl });
const out = {};

async function status(call) {
  try {
    const res = await call();
    return { status: res.status };
  } catch (e) {
    const error = e.response?.data?.error;
    return { status: e.response?.status ?? e.status, reason: error?.errors?.[0]?.reason, message: error?.message };
  }
}

const times = (h) => ({ start: { dateTime: `2026-12-01T${h}:00:00Z` }, end: { dateTime: `2026-12-01T${h}:30:00Z` } });
const first = await cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'One', ...times('09') } });
await cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'Two', ...times('10') } });
await cal.events.insert({ calendarId: 'primary', requestBody: { summary: 'Three', ...times('11') } });
out.insert = { status: first.status, id: first.data.id, etag: first.data.etag, kind: first.data.kind };

// Paging with the client's own page loop, then the sync token from the last page only.
let pageToken, pages = 0, items = 0, tokens = [];
do {
  const page = await cal.events.list({ calendarId: 'primary', maxResults: 2, showDeleted: true, pageToken });
  pages++; items += page.data.items.length; tokens.push(page.data.nextSyncToken ?? null);
  pageToken = page.data.nextPageToken;
} while (pageToken);
out.paging = { pages, items, syncTokenOnlyOnLastPage: tokens.slice(0, -1).every(t => t === null) && tokens.at(-1) !== null };
const syncToken = tokens.at(-1);

const patched = await cal.events.patch({ calendarId: 'primary', eventId: first.data.id, requestBody: { summary: 'One (renamed)' } });
await cal.events.delete({ calendarId: 'primary', eventId: first.data.id });
const incremental = await cal.events.list({ calendarId: 'primary', syncToken });
out.incremental = {
  ids: incremental.data.items.map(i => i.id),
  statuses: incremental.data.items.map(i => i.status),
  hasNextSyncToken: !!incremental.data.nextSyncToken,
  etagChanged: patched.data.etag !== first.data.etag,
};

out.forbidden = await status(() => cal.events.list({ calendarId: 'primary', syncToken, timeMin: '2026-01-01T00:00:00Z' }));
out.notFound = await status(() => cal.events.get({ calendarId: 'primary', eventId: 'nosuchevent00' }));

const series = await cal.events.insert({ calendarId: 'primary', requestBody: {
  summary: 'Weekly', start: { dateTime: '2026-12-02T09:00:00', timeZone: 'Europe/Paris' },
  end: { dateTime: '2026-12-02T09:30:00', timeZone: 'Europe/Paris' }, recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'] } });
const instances = await cal.events.instances({ calendarId: 'primary', eventId: series.data.id });
out.instances = { count: instances.data.items.length, recurringEventId: instances.data.items[0]?.recurringEventId === series.data.id };

const watch = await cal.events.watch({ calendarId: 'primary', requestBody: { id: 'official-client-1', type: 'web_hook', address: 'http://127.0.0.1:9/hook', params: { ttl: '3600' } } });
out.watch = { status: watch.status, kind: watch.data.kind, resourceId: !!watch.data.resourceId, expirationType: typeof watch.data.expiration };
out.duplicateWatch = await status(() => cal.events.watch({ calendarId: 'primary', requestBody: { id: 'official-client-1', type: 'web_hook', address: 'http://127.0.0.1:9/hook' } }));
out.stop = await status(() => cal.channels.stop({ requestBody: { id: 'official-client-1', resourceId: watch.data.resourceId } }));

await fetch(new URL(`emulator/v1/calendars/${encodeURIComponent(process.argv[4])}/expire-sync-tokens`, rootUrl), { method: 'POST' });
out.expired = await status(() => cal.events.list({ calendarId: 'primary', syncToken: incremental.data.nextSyncToken }));

console.log(JSON.stringify(out));
