<?php
/*
 * SimpleSAMLphp as the identity provider of Tessera's SSO tests: served by `php -S` on loopback
 * over plain http. Everything that changes per run (URL, keys, users, service providers) is in
 * the state folder the tests write and name in SSP_STATE_DIR.
 */
$state = getenv('SSP_STATE_DIR');

$config = [
    'baseurlpath' => getenv('SSP_BASEURL') . '/',
    'certdir' => $state . '/cert/',
    'loggingdir' => $state . '/log/',
    'datadir' => $state . '/data/',
    'tempdir' => $state . '/tmp',
    'metadatadir' => __DIR__ . '/../metadata/',
    'metadata.sources' => [['type' => 'flatfile', 'directory' => __DIR__ . '/../metadata/']],

    'technicalcontact_name' => 'Tessera tests',
    'technicalcontact_email' => 'tests@example.org',
    'secretsalt' => file_get_contents($state . '/secretsalt'),
    'auth.adminpassword' => file_get_contents($state . '/secretsalt'),
    'admin.protectindexpage' => true,
    'admin.protectmetadata' => false,
    'admin.checkforupdates' => false,
    'timezone' => 'UTC',
    'production' => false,
    'showerrors' => true,
    'errorreporting' => false,
    'logging.level' => SimpleSAML\Logger::INFO,
    'logging.handler' => 'file',
    'logging.logfile' => 'simplesamlphp.log',

    'enable.saml20-idp' => true,
    'enable.shib13-idp' => false,
    'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],

    // Plain http on loopback: a Secure cookie would never come back.
    'session.cookie.secure' => false,
    'session.cookie.samesite' => 'Lax',
    'language.cookie.secure' => false,
    'language.cookie.samesite' => 'Lax',
    'store.type' => 'phpsession',
    'session.phpsession.savepath' => $state . '/sessions',
    'trusted.url.domains' => [],
];
