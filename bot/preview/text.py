"""How a person sees rendered threads: each post as it will be sent, then its length."""

from __future__ import annotations

from bot.threads.render import Thread


def format_preview(threads: list[Thread], destination: str) -> str:
    out: list[str] = []
    for index, thread in enumerate(threads, 1):
        out.append(
            f"==== Thread {index} of {len(threads)} · {thread.day:%A, %B} {thread.day.day}, "
            f"{thread.day.year} · {destination} ({thread.format}) · event {thread.event_id}\n"
        )
        for warning in thread.warnings:
            out.append(f"warning: {warning}\n")
        for post in thread.posts:
            kind = "lead post" if post.number == 1 else "reply"
            out.append(f"---- post {post.number} of {len(thread.posts)} ({kind}) ----\n")
            if post.title:
                out.append(f"Title: {post.title}\n\n")
            out.append(post.body + "\n")
            out.append(f"---- {post.length:,} characters ----\n\n")
    return "".join(out)


def format_preview_html(threads: list[Thread], destination: str) -> str:
    from bot.preview.html import format_preview_html

    return format_preview_html(threads, destination)
