<?php
// The service providers (Tessera, once per identity provider it has configured), from the state
// folder's service_providers.json: [{"entity_id", "acs", "sls", "certificate", "signature_algorithm"}].
$sps = json_decode(file_get_contents(getenv('SSP_STATE_DIR') . '/service_providers.json'), true);
foreach ($sps as $sp) {
    $metadata[$sp['entity_id']] = [
        'AssertionConsumerService' => $sp['acs'],
        'SingleLogoutService' => $sp['sls'],
        'certData' => $sp['certificate'],
        // Tessera signs its requests: insist on it.
        'validate.authnrequest' => true,
        'validate.logout' => true,
        'sign.logout' => true,
        'signature.algorithm' => $sp['signature_algorithm'],
        'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    ];
}
