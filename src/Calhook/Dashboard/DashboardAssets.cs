namespace Calhook.Dashboard;

/// <summary>The dashboard's one script and one stylesheet, served from memory (no front-end build, no files to deploy).</summary>
internal static class DashboardAssets
{
    /// <summary>
    /// The live change view: an EventSource on <c>/v1/changes/stream</c> (the session cookie authenticates it), each
    /// change rendered with its diff before → after. Every value goes in through <c>textContent</c>, never as HTML.
    /// </summary>
    public const string Script = """
        "use strict";
        (() => {
          const list = document.getElementById("changes");
          if (!list) return;
          const status = document.getElementById("stream-status");
          const text = (value) => value === undefined || value === null ? "–" : typeof value === "string" ? value : JSON.stringify(value);
          const cell = (row, value, className) => { const c = row.insertCell(); c.textContent = value; if (className) c.className = className; return c; };
          const show = (message) => {
            const change = JSON.parse(message.data);
            const item = document.createElement("li");
            item.className = "change";
            item.dataset.sequence = String(change.sequence);
            item.dataset.type = change.type;
            const what = (change.event && change.event.summary) || (change.previous && change.previous.summary)
              || (change.calendar && change.calendar.summary) || change.eventId || "";
            const title = document.createElement("div");
            title.className = "change-title";
            title.textContent = `#${change.sequence} ${change.type} · ${change.calendarId} · ${what} · ${change.detectedAt}`;
            item.append(title);
            if (Array.isArray(change.diff) && change.diff.length > 0) {
              const table = document.createElement("table");
              table.className = "diff";
              for (const field of change.diff) {
                const row = table.insertRow();
                cell(row, field.path, "path");
                cell(row, text(field.before), "before");
                cell(row, "→", "arrow");
                cell(row, text(field.after), "after");
              }
              item.append(table);
            }
            list.prepend(item);
            while (list.children.length > 200) list.lastElementChild.remove();
          };
          const source = new EventSource("/v1/changes/stream?after=" + encodeURIComponent(list.dataset.after || "0"));
          source.onopen = () => { status.textContent = "live"; };
          source.onerror = () => { status.textContent = "reconnecting…"; };
          source.onmessage = show;
          for (const type of ["event.created", "event.updated", "event.deleted", "calendar.added", "calendar.updated", "calendar.removed"]) {
            source.addEventListener(type, show);
          }
        })();
        """;

    public const string Style = """
        body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
        header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #1d3557; color: #fff; }
        header a, header button { color: #fff; }
        nav { display: flex; gap: 1rem; align-items: center; }
        main { padding: 1rem 1.2rem; max-width: 80rem; }
        table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; background: #fff; }
        th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e3e3; vertical-align: top; }
        form.inline, td form { display: inline; }
        button { cursor: pointer; background: none; border: 1px solid currentColor; border-radius: 4px; padding: .15rem .6rem; }
        .status { font-weight: 600; }
        .status.active { color: #2a7a2a; } .status.failing, .status.needs_reauth { color: #b3261e; } .status.starting { color: #946200; }
        .error, .problem { color: #b3261e; }
        ol#changes { list-style: none; padding: 0; }
        li.change { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; margin: .4rem 0; padding: .4rem .6rem; }
        table.diff td.before { color: #b3261e; text-decoration: line-through; } table.diff td.after { color: #2a7a2a; }
        table.diff td.path { font-family: ui-monospace, monospace; }
        .login label { display: block; margin: .5rem 0; }
        article.subscription { background: #fff; border: 1px solid #e3e3e3; border-radius: 6px; margin: .6rem 0; padding: .5rem .8rem; }
        article.subscription h3 { margin: .2rem 0; font-size: 1rem; }
        .status.disabled { color: #6b6b6b; }
        .outcome.delivered { color: #2a7a2a; } .outcome.retry { color: #946200; } .outcome.failed, .outcome.disabled { color: #b3261e; }
        .notice { background: #e8f3e8; border: 1px solid #2a7a2a; border-radius: 4px; padding: .4rem .6rem; }
        """;
}
