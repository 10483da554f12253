"""Webhooks: endpoints a location registers, signed deliveries of its change events (Standard
Webhooks), and the worker that sends them (app.webhooks.worker)."""
