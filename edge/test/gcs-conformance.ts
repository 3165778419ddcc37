/**
 * Google's V4 signing conformance vectors for the GET cases nixedge uses (path style, only the
 * `host` header signed, no extra query parameters), taken verbatim from googleapis/conformance-tests
 * (Apache-2.0): storage/v1/v4_signatures.json (commit e21bdd6b477cde487a6254cd1c70db04cba34c74) and
 * storage/v1/service-account — "a dummy service account JSON file that is inactive. It's fine for
 * it to be public." Google's client libraries (Go, Java, Node, Python, .NET, ...) test against them.
 */

export const CONFORMANCE_CLIENT_EMAIL = 'test-iam-credentials@dummy-project-id.iam.gserviceaccount.com';

/** The dummy service account's PKCS#8 private key (storage/v1/service-account, `private_key`). */
export const CONFORMANCE_PRIVATE_KEY = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCsPzMirIottfQ2',
  'ryjQmPWocSEeGo7f7Q4/tMQXHlXFzo93AGgU2t+clEj9L5loNhLVq+vk+qmnyDz5',
  'Q04y8jVWyMYzzGNNrGRW/yaYqnqlKZCy1O3bmnNjV7EDbC/jE1ZLBY0U3HaSHfn6',
  'S9ND8MXdgD0/ulRTWwq6vU8/w6i5tYsU7n2LLlQTl1fQ7/emO9nYcCFJezHZVa0H',
  'meWsdHwWsok0skwQYQNIzP3JF9BpR5gJT2gNge6KopDesJeLoLzaX7cUnDn+CAnn',
  'LuLDwwSsIVKyVxhBFsFXPplgpaQRwmGzwEbf/Xpt9qo26w2UMgn30jsOaKlSeAX8',
  'cS6ViF+tAgMBAAECggEACKRuJCP8leEOhQziUx8Nmls8wmYqO4WJJLyk5xUMUC22',
  'SI4CauN1e0V8aQmxnIc0CDkFT7qc9xBmsMoF+yvobbeKrFApvlyzNyM7tEa/exh8',
  'DGD/IzjbZ8VfWhDcUTwn5QE9DCoon9m1sG+MBNlokB3OVOt8LieAAREdEBG43kJu',
  'yQTOkY9BGR2AY1FnAl2VZ/jhNDyrme3tp1sW1BJrawzR7Ujo8DzlVcS2geKA9at7',
  '55ua5GbHz3hfzFgjVXDfnkWzId6aHypUyqHrSn1SqGEbyXTaleKTc6Pgv0PgkJjG',
  'hZazWWdSuf1T5Xbs0OhAK9qraoAzT6cXXvMEvvPt6QKBgQDXcZKqJAOnGEU4b9+v',
  'Odoh+nssdrIOBNMu1m8mYbUVYS1aakc1iDGIIWNM3qAwbG+yNEIi2xi80a2RMw2T',
  '9RyCNB7yqCXXVKLBiwg9FbKMai6Vpk2bWIrzahM9on7AhCax/X2AeOp+UyYhFEy6',
  'UFG4aHb8THscL7b515ukSuKb5QKBgQDMq+9PuaB0eHsrmL6q4vHNi3MLgijGg/zu',
  'AXaPygSYAwYW8KglcuLZPvWrL6OG0+CrfmaWTLsyIZO4Uhdj7MLvX6yK7IMnagvk',
  'L3xjgxSklEHJAwi5wFeJ8ai/1MIuCn8p2re3CbwISKpvf7Sgs/W4196P4vKvTiAz',
  'jcTiSYFIKQKBgCjMpkS4O0TakMlGTmsFnqyOneLmu4NyIHgfPb9cA4n/9DHKLKAT',
  'oaWxBPgatOVWs7RgtyGYsk+XubHkpC6f3X0+15mGhFwJ+CSE6tN+l2iF9zp52vqP',
  'Qwkjzm7+pdhZbmaIpcq9m1K+9lqPWJRz/3XXuqi+5xWIZ7NaxGvRjqaNAoGAdK2b',
  'utZ2y48XoI3uPFsuP+A8kJX+CtWZrlE1NtmS7tnicdd19AtfmTuUL6fz0FwfW4Su',
  'lQZfPT/5B339CaEiq/Xd1kDor+J7rvUHM2+5p+1A54gMRGCLRv92FQ4EON0RC1o9',
  'm2I4SHysdO3XmjmdXmfp4BsgAKJIJzutvtbqlakCgYB+Cb10z37NJJ+WgjDt+yT2',
  'yUNH17EAYgWXryfRgTyi2POHuJitd64Xzuy6oBVs3wVveYFM6PIKXlj8/DahYX5I',
  'R2WIzoCNLL3bEZ+nC6Jofpb4kspoAeRporj29SgesK6QBYWHWX2H645RkRGYGpDo',
  '51gjy9m/hSNqBbH2zmh04A==',
  '-----END PRIVATE KEY-----',
].join('\n') + '\n';

export interface ConformanceVector {
  description: string;
  bucket: string;
  object: string;
  method: 'GET';
  expiration: number;
  timestamp: string;
  /** The scheme and host the URL targets (and whose host is signed), when not https://storage.googleapis.com. */
  endpoint?: { scheme: 'https' | 'http'; host: string };
  expectedUrl: string;
  /**
   * The host the vector's signature covers when it is not the URL's host: Google's libraries drop
   * the port ("Simple GET with non-default hostname" signs `host:localhost` for localhost:8080).
   */
  signedHost?: string;
  /** Given only where the vector's own canonical request is consistent with its signature (see below). */
  expectedCanonicalRequest?: string;
  expectedStringToSign?: string;
}

const CREDENTIAL = 'test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com';
const query = (date: string, expires: number) =>
  `X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=${CREDENTIAL}%2F${date.slice(0, 8)}%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=${date}&X-Goog-Expires=${expires}&X-Goog-SignedHeaders=host`;
const canonical = (path: string, date: string, expires: number) =>
  `GET\n${path}\n${query(date, expires)}\nhost:storage.googleapis.com\n\nhost\nUNSIGNED-PAYLOAD`;
const toSign = (date: string, hash: string) => `GOOG4-RSA-SHA256\n${date}\n${date.slice(0, 8)}/auto/storage/goog4_request\n${hash}`;

/**
 * The vectors' "expectedUrl" strings are copied whole (not rebuilt from the helpers above), so the
 * URL assertions are byte-exact against Google's data. For the vectors with another host, the JSON's
 * expectedCanonicalRequest still says `host:storage.googleapis.com`, but their signatures (checked
 * with openssl against the dummy key) cover the URL's own host ("Emulator host": xyz.googleapis.com,
 * "Universe domain": storage.domain.com) or, for localhost:8080, `host:localhost` without the port;
 * so only the URL is asserted there.
 */
export const CONFORMANCE_GET_VECTORS: ConformanceVector[] = [
  {
    description: 'Simple GET',
    bucket: 'test-bucket',
    object: 'test-object',
    method: 'GET',
    expiration: 10,
    timestamp: '2019-02-01T09:00:00Z',
    expectedUrl:
      'https://storage.googleapis.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=95e6a13d43a1d1962e667f17397f2b80ac9bdd1669210d5e08e0135df9dff4e56113485dbe429ca2266487b9d1796ebdee2d7cf682a6ef3bb9fbb4c351686fba90d7b621cf1c4eb1fdf126460dd25fa0837dfdde0a9fd98662ce60844c458448fb2b352c203d9969cb74efa4bdb742287744a4f2308afa4af0e0773f55e32e92973619249214b97283b2daa14195244444e33f938138d1e5f561088ce8011f4986dda33a556412594db7c12fc40e1ff3f1bedeb7a42f5bcda0b9567f17f65855f65071fabb88ea12371877f3f77f10e1466fff6ff6973b74a933322ff0949ce357e20abe96c3dd5cfab42c9c83e740a4d32b9e11e146f0eb3404d2e975896f74',
    expectedCanonicalRequest: canonical('/test-bucket/test-object', '20190201T090000Z', 10),
    expectedStringToSign: toSign('20190201T090000Z', '00e2fb794ea93d7adb703edaebdd509821fcc7d4f1a79ac5c8d2b394df109320'),
  },
  {
    description: 'Vary expiration and timestamp',
    bucket: 'test-bucket',
    object: 'test-object',
    method: 'GET',
    expiration: 20,
    timestamp: '2019-03-01T09:00:00Z',
    expectedUrl:
      'https://storage.googleapis.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190301%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190301T090000Z&X-Goog-Expires=20&X-Goog-SignedHeaders=host&X-Goog-Signature=9669ed5b10664dc594c758296580662912cf4bcc5a4ba0b6bf055bcbf6f34eed7bdad664f534962174a924741a0c273a4f67bc1847cef20192a6beab44223bd9d4fbbd749c407b79997598c30f82ddc269ff47ec09fa3afe74e00616d438df0d96a7d8ad0adacfad1dc3286f864d924fe919fb0dce45d3d975c5afe8e13af2db9cc37ba77835f92f7669b61e94c6d562196c1274529e76cfff1564cc2cad7d5387dc8e12f7a5dfd925685fe92c30b43709eee29fa2f66067472cee5423d1a3a4182fe8cea75c9329d181dc6acad7c393cd04f8bf5bc0515127d8ebd65d80c08e19ad03316053ea60033fd1b1fd85a69c576415da3bf0a3718d9ea6d03e0d66f0',
    expectedCanonicalRequest: canonical('/test-bucket/test-object', '20190301T090000Z', 20),
    expectedStringToSign: toSign('20190301T090000Z', '779f19fdb6fd381390e2d5af04947cf21750277ee3c20e0c97b7e46a1dff8907'),
  },
  {
    description: 'Vary bucket and object',
    bucket: 'test-bucket2',
    object: 'test-object2',
    method: 'GET',
    expiration: 10,
    timestamp: '2019-02-01T09:00:00Z',
    expectedUrl:
      'https://storage.googleapis.com/test-bucket2/test-object2?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=36e3d58dfd3ec1d2dd2f24b5ee372a71e811ffaa2162a2b871d26728d0354270bc116face87127532969c4a3967ed05b7309af741e19c7202f3167aa8c2ac420b61417d6451442bb91d7c822cd17be8783f01e05372769c88913561d27e6660dd8259f0081a71f831be6c50283626cbf04494ac10c394b29bb3bce74ab91548f58a37118a452693cf0483d77561fc9cac8f1765d2c724994cca46a83517a10157ee0347a233a2aaeae6e6ab5e204ff8fc5f54f90a3efdb8301d9fff5475d58cd05b181affd657f48203f4fb133c3a3d355b8eefbd10d5a0a5fd70d06e9515460ad74e22334b2cba4b29cae4f6f285cdb92d8f3126d7a1479ca3bdb69c207d860',
    expectedCanonicalRequest: canonical('/test-bucket2/test-object2', '20190201T090000Z', 10),
    expectedStringToSign: toSign('20190201T090000Z', 'a139afbf35ac30e9864f63197f79609731ab1b0ca166e2a456dba156fcd3f9ce'),
  },
  {
    description: 'Forward Slashes should not be stripped',
    bucket: 'test-bucket',
    object: '/path/with/slashes/under_score/amper&sand/file.ext',
    method: 'GET',
    expiration: 10,
    timestamp: '2019-02-01T09:00:00Z',
    expectedUrl:
      'https://storage.googleapis.com/test-bucket//path/with/slashes/under_score/amper%26sand/file.ext?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=2db8b70e3f85b39be7824f6d02be31af2e6a2eb63f6bb41254851f7ef51bdad8963a9d2b254f8379c1780c8e6898be002d4100a0abd3d45f1437687fed65d15dd237c3a6f3c399c64ffd4e4cea7ef1c2f0391d35ecbeeaf3e3148d23c6f24c839cfcd92c1496332f5bfbbf1ed1e957eb45fad57df24828c96cf243eec23fba014d277c22a572708beb355888c5a8c0047cb3015d7f62cc90285676e7e34626fd0ce9ba5e0da39fc3de0035cc3ad120c46cb73db87246ae123f7a342c235e9480bd7d7e00c13b1e1bb7be5e2bce74d59a53505172463b48aefeedb48281d90874aa4177c881d3596ed1067f02eaac13d810a7aed234c41978b1394d0ce3662f76',
    expectedCanonicalRequest: canonical('/test-bucket//path/with/slashes/under_score/amper%26sand/file.ext', '20190201T090000Z', 10),
    expectedStringToSign: toSign('20190201T090000Z', '63c601ecd6ccfec84f1113fc906609cbdf7651395f4300cecd96ddd2c35164f8'),
  },
  {
    description: 'Simple GET with non-default hostname',
    bucket: 'test-bucket',
    object: 'test-object',
    method: 'GET',
    expiration: 10,
    timestamp: '2019-02-01T09:00:00Z',
    endpoint: { scheme: 'http', host: 'localhost:8080' },
    signedHost: 'localhost',
    expectedUrl:
      'http://localhost:8080/test-bucket/test-object?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=66c8c0371ca7d933a0d50f110abdf4fc7e3e379329134f272ebe4aa8100ccd5f21cd56ca5ccffae5ed36c8d6840e7cac80c2e7d786cd85b10d0faea34cddf09d2e7eb7f5c7c53934e4bf8f5cd654bc3c1b5ee9e3f8ca2189cd225b445bb866563fc4bd0d0b4d116111655611d12ec18f2d854fd7142d9afcc977dbd8f6d0524e4170506abf2b119bbe00d17697321d225162fabddb4ddae77781b4f3277a6b6fccfeb47d70b88537e5efb416001274aaeb1535b5aae757c997edc66d03898a5d08f767313d018d10992981d00e2a18ed9a6839b8a1ac7b3be1cab2e9511ba91e14a786443b59e9f21e1ae74a2c60106180646a764531fbe1fcd9c1e40550e56e',
  },
  {
    description: 'Emulator host',
    bucket: 'test-bucket',
    object: 'test-object',
    method: 'GET',
    expiration: 10,
    timestamp: '2019-02-01T09:00:00Z',
    endpoint: { scheme: 'https', host: 'xyz.googleapis.com' },
    expectedUrl:
      'https://xyz.googleapis.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=53b20003ff2c552b3194a6bccc25024663662392554b3334e989e2704f3a0308455eaacf45c335a78c0186a5cf8eef78bf5781a7267465d28a35c9e1291f87ff340e9ee40b3b9bdce70561bf000887ce38ccd7d2445a8749453960a8f11d37576dfd5942f92d6f4527bbeffb90526b5de9653b6ca16136e9f19bcb65d984ddaf22c4ade45d6a168bb4752a43de33ab121206f50d994612824407711bff720cb1b207b61b613c44c85d3ce16dc4fc6eba24e494e176b0780d0ab85a800b13fcbf31434ddf51992efae1efde330ebda0617d1c20078ef22a4f10a7bcbed961237442d9a8db78d7aeb777a4994b50efdd41e07c4966e912a30f92a7426f207e9545',
  },
  {
    description: 'Universe domain',
    bucket: 'test-bucket',
    object: 'test-object',
    method: 'GET',
    expiration: 10,
    timestamp: '2019-02-01T09:00:00Z',
    endpoint: { scheme: 'https', host: 'storage.domain.com' },
    expectedUrl:
      'https://storage.domain.com/test-bucket/test-object?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=test-iam-credentials%40dummy-project-id.iam.gserviceaccount.com%2F20190201%2Fauto%2Fstorage%2Fgoog4_request&X-Goog-Date=20190201T090000Z&X-Goog-Expires=10&X-Goog-SignedHeaders=host&X-Goog-Signature=8cd0d479a88fb7d791a2dcc8fc5b5f020ca817eeef5b5a5cb3260eb63cf47ecd271faa238d0fa31efca35bc2a9244bd122178c520749f922c0235726a5a6be099bf4f33a0d54187eee2e0208964c2a13104b03e235cdeb4f07b3eb566b8a33259cf7540a3fe823be601ace2a54a79acd6834cb646380c4cfc7ef0fd95d3ebbc1f97d840f6fe1dceed4269ecb4e91ff7e6633f38adab82049a965968367b9e7c362cec868d804bd42abbb6d2e837ce5d45ee9e1d92c7acc09623acaae3df6128ca15f9f80bb6543944e8c997f691c35113b9e9f44e86fd343524343b08dd8f887685588acc103e0b432f24912e7e1c63e086aeed1890e41b75beb64164fe6bfcf',
  },
];
