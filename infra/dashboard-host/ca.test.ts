/**
 * The RDS CA certificates shipped to the dashboard host. AWS's global-bundle.pem cannot be fetched
 * here (no internet), so this checks what can be checked offline: every certificate is an Amazon
 * RDS CA that is either a self-signed root (its signature verifies with its own key) or signed by
 * another certificate in the set, none is an Amazon Trust Services (RDS Proxy) root, and the
 * rsa2048-g1 root the stack's databases use is there for the main regions.
 */
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rdsCaBundle } from './ca.ts';

const certs = (rdsCaBundle().match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
  (pem) => new X509Certificate(pem),
);
const cn = (c: X509Certificate) => /CN=([^\n]+)/.exec(c.subject)?.[1] ?? '';

describe('the RDS CA bundle', () => {
  it('holds only Amazon RDS CAs, each a self-signed root or signed by one in the set', () => {
    expect(certs.length).toBeGreaterThan(100);
    const bySubject = new Map(certs.map((c) => [c.subject, c]));
    for (const c of certs) {
      expect(c.ca, cn(c)).toBe(true);
      expect(c.subject, cn(c)).toContain('OU=Amazon RDS');
      const issuer = bySubject.get(c.issuer);
      expect(issuer, `issuer of ${cn(c)}`).toBeDefined();
      expect(c.verify(issuer!.publicKey), cn(c)).toBe(true);
    }
    expect(certs.some((c) => /Amazon Root CA|Starfield/.test(c.subject))).toBe(false);
  });

  it('has the rsa2048-g1 root (the stack pins RDS_CA_RSA2048_G1) for the main regions, valid for decades', () => {
    const roots = new Map(certs.map((c) => [cn(c), c]));
    for (const region of ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1']) {
      const root = roots.get(`Amazon RDS ${region} Root CA RSA2048 G1`);
      expect(root, region).toBeDefined();
      expect(root!.issuer).toBe(root!.subject);
      expect(new Date(root!.validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2061);
    }
  });
});
