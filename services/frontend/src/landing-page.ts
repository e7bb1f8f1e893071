import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { type RequestHandler, type Router } from 'express';

const PUBLIC_DIR = path.join(__dirname, 'public');

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Only our own script and styles; the page calls only its own API. */
const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'");
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  next();
};

/**
 * `GET /` and its static files. The page is read on each request, so an edit
 * shows on reload without restarting the process.
 */
export function landingPage(jaegerUiUrl: string): Router {
  const router = express.Router();
  router.use(securityHeaders);
  router.get('/', async (_req, res) => {
    const html = await readFile(path.join(PUBLIC_DIR, 'index.html'), 'utf8');
    res.type('html').send(html.replace('{{JAEGER_UI_URL}}', escapeAttribute(jaegerUiUrl)));
  });
  router.use(express.static(PUBLIC_DIR, { index: false, maxAge: 0 }));
  return router;
}
