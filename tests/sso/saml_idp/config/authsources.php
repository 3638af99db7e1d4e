<?php
// The exampleauth module's static users, as the tests list them in the state folder's users.json:
// {"alice": {"password": "...", "attributes": {"uid": ["alice"], "groups": [...]}}}.
$users = json_decode(file_get_contents(getenv('SSP_STATE_DIR') . '/users.json'), true);
$static = ['exampleauth:UserPass'];
foreach ($users as $name => $user) {
    $static[$name . ':' . $user['password']] = $user['attributes'];
}
$config = [
    'admin' => ['core:AdminPassword'],
    'tessera-users' => $static,
];
